//go:build reliability

package reliability

import (
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/testkit/reliability"
)

// Kafka unreachable for 10 s while stream-sea → Kafka runs (every connection of the bridge
// to Apache Kafka refused and reset). The bridge stops reading the websocket when its
// in-flight limit is reached; stream-sea then drops what it cannot queue for a slow
// subscriber (the protocol has no backlog): those losses are the server's, and must be
// counted and logged by it. The bridge itself must lose nothing it received.
func TestKafkaCut10s(t *testing.T) {
	sc := suite.Begin(t, reliability.Setup{Name: "Kafka cut 10 s", Direction: reliability.StreamseaToKafka, RealKafka: true})
	sc.StartBridge(sc.Config())
	sc.Publish()
	sc.WaitSent(sc.Messages / 4)
	sc.Hold("Kafka cut (refused and reset)", 10*time.Second, sc.Kafka.Proxy.Cut, func() {
		if err := sc.Kafka.Proxy.Heal(); err != nil {
			t.Fatal(err)
		}
	})
	sc.Finish()
}

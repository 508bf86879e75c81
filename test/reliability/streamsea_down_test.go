//go:build reliability

package reliability

import (
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/testkit/reliability"
)

// stream-sea unreachable for 10 s while Kafka → stream-sea runs: the proxy refuses new
// connections and resets open ones. Kafka keeps the backlog; nothing may be lost.
func TestStreamseaDown10s(t *testing.T) {
	sc := suite.Begin(t, reliability.Setup{Name: "stream-sea down 10 s", Direction: reliability.KafkaToStreamsea})
	sc.StartBridge(sc.Config())
	sc.Publish()
	sc.WaitSent(sc.Messages / 4)
	sc.Hold("stream-sea cut (refused and reset)", 10*time.Second, sc.Emulator.Proxy.Cut, func() {
		if err := sc.Emulator.Proxy.Heal(); err != nil {
			t.Fatal(err)
		}
	})
	sc.Finish()
}

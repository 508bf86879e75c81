//go:build reliability

package reliability

import (
	"testing"

	"github.com/seabridge/seabridge/internal/testkit/reliability"
)

// Two bridge instances share Kafka → stream-sea in one consumer group; one is SIGKILLed and
// stays down. Its partitions move to the other after the session timeout (6 s); what the
// killed one had not committed is published again. Nothing is lost.
func TestTwoInstancesOneKilled(t *testing.T) {
	sc := suite.Begin(t, reliability.Setup{Name: "two instances, one SIGKILLed", Direction: reliability.KafkaToStreamsea})
	cfg := sc.Config()
	a := sc.StartBridge(cfg)
	sc.StartBridge(cfg)
	sc.Publish()
	sc.WaitSent(sc.Messages / 3)
	t.Logf("fault: SIGKILL %s (sent so far %d)", a.Name, sc.Publisher.Sent())
	a.Kill()
	sc.Healed()
	sc.Finish()
}

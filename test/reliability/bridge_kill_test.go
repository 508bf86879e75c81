//go:build reliability

package reliability

import (
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/testkit/reliability"
)

// The bridge SIGKILLed in the middle of Kafka → stream-sea and started again 2 s later: what
// it had published and not committed is published again (duplicates), nothing is lost. The
// recovery is measured from the new process's start.
func TestBridgeKilled(t *testing.T) {
	sc := suite.Begin(t, reliability.Setup{Name: "bridge SIGKILLed, restarted", Direction: reliability.KafkaToStreamsea})
	b := sc.StartBridge(sc.Config())
	sc.Publish()
	sc.WaitSent(sc.Messages / 3)
	t.Logf("fault: SIGKILL the bridge (sent so far %d)", sc.Publisher.Sent())
	b.Restart(2 * time.Second)
	sc.Healed()
	b.WaitReady(90 * time.Second)
	sc.Finish()
}

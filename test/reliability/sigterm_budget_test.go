//go:build reliability

package reliability

import (
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/testkit/reliability"
)

// SIGTERM while stream-sea answers every publish 3 s late, with shutdown_timeout = "1s": the
// budget runs out with messages unwritten. The bridge must exit 1 and name what it gave up on
// in a log line; their offsets stay uncommitted, so the bridge started again publishes them.
// Nothing may be lost.
func TestSigtermBudgetTooShortKafkaToStreamsea(t *testing.T) {
	sc := suite.Begin(t, reliability.Setup{Name: "SIGTERM, budget too short", Direction: reliability.KafkaToStreamsea})
	cfg := sc.Config()
	cfg.Set("bridge.shutdown_timeout", "1s")
	b := sc.StartBridge(cfg)
	sc.Publish()
	sc.WaitSent(sc.Messages / 3)
	id := sc.Emulator.AddFault(reliability.Fault{Kind: "latency", Latency: "3s", Route: "publish", Stream: sc.Stream})
	sc.Expect(sc.Emulator.WaitFaultApplied(id, 10*time.Second), "harness: no publish was slowed down")
	terminateOutOfBudget(sc, b, "a write in flight that takes 3 s")
	sc.Emulator.ClearFaults()
	b.Start()
	sc.Healed()
	b.WaitReady(90 * time.Second)
	sc.Finish()
}

// The same with stream-sea → Kafka and Apache Kafka 3 s away (a latency on every byte between
// the bridge and the broker): what the bridge received and could not write within the budget
// is lost (stream-sea has no replay) and must be counted by its metrics and a log line, with
// exit code 1; what is published while it is down has no subscriber (the server's loss).
func TestSigtermBudgetTooShortStreamseaToKafka(t *testing.T) {
	sc := suite.Begin(t, reliability.Setup{Name: "SIGTERM, budget too short", Direction: reliability.StreamseaToKafka,
		RealKafka: true})
	cfg := sc.Config()
	cfg.Set("bridge.shutdown_timeout", "1s")
	b := sc.StartBridge(cfg)
	sc.Publish()
	sc.WaitSent(sc.Messages / 3)
	sc.Kafka.Proxy.SetLatency(3 * time.Second)
	sc.Expect(waitInFlight(b, 20*time.Second), "harness: the bridge never held messages in flight")
	terminateOutOfBudget(sc, b, "Kafka 3 s away")
	sc.Kafka.Proxy.SetLatency(0)
	b.Start()
	sc.Healed()
	b.WaitReady(90 * time.Second)
	sc.Finish()
}

// terminateOutOfBudget sends SIGTERM to a bridge whose 1 s budget cannot be enough and expects
// exit code 1 and a log line naming what it gave up on.
func terminateOutOfBudget(sc *reliability.Scenario, b *reliability.Bridge, why string) {
	sc.T.Logf("fault: SIGTERM with %s, budget 1 s (sent so far %d)", why, sc.Publisher.Sent())
	code := b.Terminate(60 * time.Second)
	counts := b.Counts(sc.Pipeline)
	sc.Expect(code == 1, "exit code %d after the shutdown budget ran out, want 1", code)
	sc.Expect(counts.Logged, "no log line names the messages given up on at shutdown")
	sc.Note("first process: exit code %d, nacked %d, undelivered %d", code, counts.Nacked, counts.Undelivered)
}

// waitInFlight waits until the bridge reports messages read and not yet written.
func waitInFlight(b *reliability.Bridge, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if m, err := b.Metrics(); err == nil && m.Sum("seabridge_pipeline_in_flight_messages") > 0 {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

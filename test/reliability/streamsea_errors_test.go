//go:build reliability

package reliability

import (
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/testkit/reliability"
)

// stream-sea answering the bridge's publishes with errors, throttling or slowly, each for a
// while (the emulator's /emulator/faults), while Kafka → stream-sea runs. Kafka keeps the
// backlog; nothing may be lost.

func TestStreamsea500(t *testing.T) {
	streamseaFault(t, "stream-sea 500 for 10 s", reliability.Fault{Kind: "error", Status: 500})
}

func TestStreamsea429RetryAfter(t *testing.T) {
	streamseaFault(t, "stream-sea 429 Retry-After 2 s for 10 s", reliability.Fault{Kind: "error", Status: 429, RetryAfter: 2})
}

func TestStreamseaSlow(t *testing.T) {
	streamseaFault(t, "stream-sea 2 s slow for 10 s", reliability.Fault{Kind: "latency", Latency: "2s"})
}

func TestStreamseaHang(t *testing.T) {
	streamseaFault(t, "stream-sea hangs for 15 s", reliability.Fault{Kind: "hang"})
}

// streamseaFault runs f on the scenario's stream's publishes for 10 s (15 s for a hang, which
// the sink's 10 s request timeout must cut).
func streamseaFault(t *testing.T, name string, f reliability.Fault) {
	sc := suite.Begin(t, reliability.Setup{Name: name, Direction: reliability.KafkaToStreamsea})
	sc.StartBridge(sc.Config())
	sc.Publish()
	sc.WaitSent(sc.Messages / 4)
	d := 10 * time.Second
	if f.Kind == "hang" {
		d = 15 * time.Second
	}
	f.Route, f.Stream = "publish", sc.Stream
	sc.Hold("emulator fault "+f.Kind+" on publish", d, func() { sc.Emulator.AddFault(f) }, sc.Emulator.ClearFaults)
	sc.Finish()
}

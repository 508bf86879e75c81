//go:build reliability

package reliability

import (
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/testkit/reliability"
)

// The bridge's websocket to stream-sea reset (an RST) in the middle of stream-sea → Kafka:
// what stream-sea published while the bridge reconnected had no subscriber and is lost by
// the protocol (counted by the server), as is what was in flight on the broken connection;
// the bridge must lose nothing it received.
func TestWebsocketReset(t *testing.T) {
	sc := suite.Begin(t, reliability.Setup{Name: "websocket reset", Direction: reliability.StreamseaToKafka, AllowTransit: true})
	sc.StartBridge(sc.Config())
	sc.Publish()
	sc.WaitSent(sc.Messages / 3)
	t.Logf("fault: reset the bridge's stream-sea connections (sent so far %d)", sc.Publisher.Sent())
	n := sc.Emulator.Proxy.ResetConnections()
	sc.Expect(n > 0, "harness: the reset found no connection to reset")
	sc.Healed()
	sc.Finish()
}

// The emulator restarted (SIGTERM, 2 s down, a new process on the same port) in the middle of
// stream-sea → Kafka: the publisher waits while it is down; the bridge reconnects and
// subscribes again; what was published before it had subscribed is lost by the protocol.
func TestEmulatorRestart(t *testing.T) {
	sc := suite.Begin(t, reliability.Setup{Name: "stream-sea restarted", Direction: reliability.StreamseaToKafka, AllowTransit: true})
	sc.StartBridge(sc.Config())
	sc.Publish()
	sc.WaitSent(sc.Messages / 3)
	t.Logf("fault: restart the emulator (sent so far %d)", sc.Publisher.Sent())
	// The emulator forgets its counters: let every publication settle first, so that the
	// last stats of the old process account for all it was given.
	sc.Publisher.Pause()
	sc.Expect(sc.Emulator.WaitQuiet(sc.Stream, 10*time.Second), "harness: the emulator did not settle before its restart")
	sc.Emulator.Restart(false, 2*time.Second)
	sc.Publisher.Resume()
	sc.Healed()
	sc.Finish()
}

package source

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/pipeline/pipelinetest"
	"github.com/seabridge/seabridge/internal/streamsea/emulator"
)

// TestStreamSeaReportsADisconnectWhileBackpressured blocks the sink (a Kafka outage) so that
// the source stops reading, and lets the emulator's "disconnect" slow-subscriber policy close
// the websocket: the source, the runner's readiness and ws_connected must stop saying
// connected within dead_after, although the close itself cannot be read. Once the sink
// recovers, the source reads what it had received, reconnects, and moves new messages.
func TestStreamSeaReportsADisconnectWhileBackpressured(t *testing.T) {
	ssVerifyNoLeaks(t)
	f := newSSFixtureWith(t, emulator.Options{SlowSubscriber: emulator.PolicyDisconnect, QueueSize: 64})
	opts := f.options("s3cret", 50)
	opts.Subscriber.DeadAfter = 2 * time.Second
	src := f.source(t, opts)
	sink := pipelinetest.NewMemSink()
	sink.SetBlocked(true)
	runner := startSSRunner(t, src, sink, 10)
	// Many more messages than the source may hold, in frames of ten: the source stops reading
	// long before the last of them.
	small := make([]string, 10)
	for i := range 150 {
		for j := range small {
			small[j] = fmt.Sprintf(`{"n":%d}`, 10*i+j)
		}
		f.publish(t, small...)
	}
	// Then large ones until the socket buffers and the emulator's queue are full and it gives
	// up on the subscriber.
	filler := strings.Repeat("x", 32<<10)
	for i := 0; subscriptionsOf(f.emu, "boiler_data") > 0; i++ {
		if i == 5000 {
			t.Fatal("the emulator never disconnected the backpressured subscriber")
		}
		f.publish(t, fmt.Sprintf(`{"n":%d,"f":%q}`, i, filler))
	}
	runner.awaitReady(t, false, 2*opts.Subscriber.DeadAfter+5*time.Second, "after the server closed the websocket")
	if src.Connected() || f.gauge(t, "seabridge_streamsea_ws_connected") != 0 {
		t.Fatalf("source connected %v, ws_connected %v, want false and 0", src.Connected(), f.gauge(t, "seabridge_streamsea_ws_connected"))
	}

	sink.SetBlocked(false)
	// The source reads what the server had sent, reaches the end of the connection and
	// reconnects.
	for deadline := time.Now().Add(30 * time.Second); f.metric(f.metrics.connects.WithLabelValues("boiler")) < 2 || !runner.Ready(); {
		if time.Now().After(deadline) {
			t.Fatalf("no reconnect within 30s of the sink's recovery (ready %v)", runner.Ready())
		}
		time.Sleep(10 * time.Millisecond) // reconnecting has no signal to await
	}
	before := sink.Count()
	f.publish(t, `{"after":1}`)
	waitCtx, waitCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer waitCancel()
	if err := sink.WaitCount(waitCtx, before+1); err != nil {
		t.Fatalf("nothing published after the reconnect reached the sink: %v", err)
	}
	runner.cancel()
	if err := runner.wait(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func subscriptionsOf(emu *emulator.Server, stream string) int {
	for _, st := range emu.Stats().Streams {
		if st.Stream == stream {
			return st.Subscriptions
		}
	}
	return 0
}

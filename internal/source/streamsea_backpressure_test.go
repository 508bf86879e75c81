package source

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/pipeline/pipelinetest"
)

// TestStreamSeaHoldsMaxInFlightWhileTheSinkIsBlocked runs a stream-sea -> sink runner whose
// sink accepts nothing (a Kafka outage): the source must go on reading the websocket until
// exactly max_in_flight messages are in flight, far more than the runner's own batches, then
// stop reading; once the sink recovers every message arrives, in order.
func TestStreamSeaHoldsMaxInFlightWhileTheSinkIsBlocked(t *testing.T) {
	ssVerifyNoLeaks(t)
	const (
		maxInFlight = 2000
		frames      = 300 // of 10 messages each: 3000 messages
	)
	f := newSSFixture(t)
	src := f.source(t, f.options("s3cret", maxInFlight))
	sink := pipelinetest.NewMemSink()
	sink.SetBlocked(true)
	runner := startSSRunner(t, src, sink, 100)
	var values []string
	for i := range frames {
		batch := make([]string, 10)
		for j := range batch {
			batch[j] = fmt.Sprintf(`{"n":%d}`, 10*i+j)
		}
		values = append(values, batch...)
		f.publish(t, batch...)
	}
	wantBytes := int64(0)
	for _, v := range values[:maxInFlight] {
		wantBytes += int64(len(v))
	}
	for deadline := time.Now().Add(10 * time.Second); f.gauge(t, "seabridge_streamsea_in_flight_messages") != maxInFlight; {
		if time.Now().After(deadline) {
			t.Fatalf("in_flight_messages = %v, want max_in_flight %d", f.gauge(t, "seabridge_streamsea_in_flight_messages"), maxInFlight)
		}
		time.Sleep(10 * time.Millisecond) // the source reads up to its bound; nothing to await
	}
	if w := window(src); w.Held != maxInFlight || w.HeldBytes != wantBytes || !w.Paused {
		t.Fatalf("source window %+v, want %d messages (%d bytes) held and reading paused", w, maxInFlight, wantBytes)
	}
	// The runner holds a few batches (up to MaxInFlightBatches queued, one being written and
	// the one being filled) and what its reader took with its last ReadBatch and has not put in
	// a batch yet (at most ReadChunk); the rest waits, read, in the source.
	const runnerHolds = (pipeline.DefaultMaxInFlightBatches+2)*100 + pipeline.ReadChunk
	if w, inRunner := window(src), runner.Stats().InFlight; int64(w.Queued)+inRunner > maxInFlight || w.Queued < maxInFlight-runnerHolds {
		t.Errorf("source queues %d and the runner holds %d, want about %d in the source", w.Queued, inRunner, maxInFlight)
	}
	if v := f.gauge(t, "seabridge_streamsea_ws_reading_paused"); v != 1 {
		t.Errorf("ws_reading_paused = %v, want 1", v)
	}
	sink.SetBlocked(false)
	waitCtx, waitCancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer waitCancel()
	if err := sink.WaitCount(waitCtx, len(values)); err != nil {
		t.Fatalf("sink holds %d of %d messages: %v", sink.Count(), len(values), err)
	}
	for i, m := range sink.Messages() {
		if string(m.Value) != values[i] {
			t.Fatalf("sink message %d = %s, want %s", i, m.Value, values[i])
		}
	}
	runner.cancel()
	if err := runner.wait(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

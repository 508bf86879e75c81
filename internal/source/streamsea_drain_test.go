package source

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/backoff"
	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/pipeline/pipelinetest"
)

// TestStreamSeaShutdownWritesWhatWasReceived stops a stream-sea -> sink runner while most of
// the received messages wait in the subscriber's buffer (the sink was slow): within the
// shutdown budget every one of them must reach the sink, in order, and none be counted as
// undelivered.
func TestStreamSeaShutdownWritesWhatWasReceived(t *testing.T) {
	ssVerifyNoLeaks(t)
	const n = 50
	f := newSSFixture(t)
	src := f.source(t, f.options("s3cret", 5))
	sink := pipelinetest.NewMemSink()
	runner, err := pipeline.NewRunner(pipeline.Options{
		Name: "boiler", Direction: pipeline.DirectionStreamSeaToKafka, Source: src, Sink: sink,
		BatchSize: 10, Linger: time.Millisecond, ShutdownTimeout: 10 * time.Second,
		Retry: backoff.Policy{Initial: time.Millisecond, Max: 10 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	sink.SetBlocked(true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx) }()
	for deadline := time.Now().Add(5 * time.Second); !runner.Ready(); {
		if time.Now().After(deadline) {
			t.Fatal("runner not ready within 5s")
		}
		time.Sleep(5 * time.Millisecond) // readiness has no signal to await
	}
	values := make([]string, n)
	for i := range values {
		values[i] = fmt.Sprintf(`{"t":%d}`, i)
	}
	f.publish(t, values...)
	received := func() int64 {
		src.mu.Lock()
		r := src.run
		src.mu.Unlock()
		return src.inFlight.Load() + int64(r.sub.Buffered())
	}
	for deadline := time.Now().Add(5 * time.Second); received() < n; {
		if time.Now().After(deadline) {
			t.Fatalf("received %d of %d messages within 5s", received(), n)
		}
		time.Sleep(5 * time.Millisecond) // the subscriber fills its buffer; nothing to await
	}
	cancel()
	sink.SetBlocked(false)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s")
	}
	msgs := sink.Messages()
	if len(msgs) != n {
		t.Errorf("sink holds %d messages, want all %d received", len(msgs), n)
	}
	for i, m := range msgs {
		if string(m.Value) != values[i] {
			t.Fatalf("sink message %d = %s, want %s", i, m.Value, values[i])
		}
	}
	if v := f.metric(f.metrics.undelivered.WithLabelValues("boiler")); v != 0 {
		t.Errorf("undelivered_messages_total = %v, want 0", v)
	}
}

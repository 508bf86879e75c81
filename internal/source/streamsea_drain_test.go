package source

import (
	"fmt"
	"testing"
	"time"

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
	sink.SetBlocked(true)
	runner := startSSRunner(t, src, sink, 10)
	values := make([]string, n)
	for i := range values {
		values[i] = fmt.Sprintf(`{"t":%d}`, i)
	}
	f.publish(t, values...)
	for deadline := time.Now().Add(5 * time.Second); window(src).Held < n; {
		if time.Now().After(deadline) {
			t.Fatalf("received %d of %d messages within 5s", window(src).Held, n)
		}
		time.Sleep(5 * time.Millisecond) // the subscriber fills its buffer; nothing to await
	}
	runner.cancel()
	sink.SetBlocked(false)
	if err := runner.wait(t); err != nil {
		t.Fatalf("Run = %v", err)
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

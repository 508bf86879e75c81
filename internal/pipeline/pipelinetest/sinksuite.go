package pipelinetest

import (
	"context"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/pipeline"
)

// SinkHarness adapts one pipeline.Sink implementation to RunSinkSuite.
type SinkHarness struct {
	// Setup prepares an empty backend for one subtest and registers its cleanup with
	// t.Cleanup. Required.
	Setup func(t *testing.T) SinkBackend
	// Timeout bounds each step of a subtest; default 10s.
	Timeout time.Duration
}

// SinkBackend is one backend prepared by SinkHarness.Setup. It must preserve the write order
// of messages with the same key (e.g. a topic with one partition, or one stream).
type SinkBackend struct {
	// NewSink returns a fresh, unconnected sink writing to this backend. Required.
	NewSink func(t *testing.T) pipeline.Sink
	// NewMessage builds the message the suite writes for value (a JSON object). Nil: a
	// message with Key "pipelinetest", that Value and ReceivedAt now.
	NewMessage func(value []byte) *pipeline.Message
	// Collect returns the values the backend holds, in write order, once it holds at least
	// want of them or ctx is done. Required.
	Collect func(ctx context.Context, t *testing.T, want int) [][]byte
	// SetSlow makes the backend stop answering (true) or answer again (false). Nil when
	// unsupported.
	SetSlow func(t *testing.T, slow bool)
}

// RunSinkSuite checks the Sink contract the runner relies on: batches written are all there
// in order, Close is idempotent, and Write returns promptly when its context is done.
func RunSinkSuite(t *testing.T, h SinkHarness) {
	t.Helper()
	if h.Timeout <= 0 {
		h.Timeout = 10 * time.Second
	}
	tests := []struct {
		name string
		run  func(*testing.T, SinkHarness)
	}{
		{"WritesBatchesInOrder", sinkWritesInOrder},
		{"CloseIsIdempotent", sinkCloseIdempotent},
		{"CloseWithoutConnect", sinkCloseWithoutConnect},
		{"WriteReturnsOnCancel", sinkWriteReturnsOnCancel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, h) })
	}
}

func (b SinkBackend) messages(values [][]byte) []*pipeline.Message {
	msgs := make([]*pipeline.Message, len(values))
	for i, v := range values {
		if b.NewMessage != nil {
			msgs[i] = b.NewMessage(v)
			continue
		}
		msgs[i] = &pipeline.Message{Key: []byte("pipelinetest"), Value: v, ReceivedAt: time.Now()}
	}
	return msgs
}

func connectSink(ctx context.Context, t *testing.T, s pipeline.Sink) {
	t.Helper()
	if err := s.Connect(ctx); err != nil {
		t.Fatalf("Connect: %v", err)
	}
}

func closeSink(t *testing.T, s pipeline.Sink, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func sinkWritesInOrder(t *testing.T, h SinkHarness) {
	ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
	defer cancel()
	b := h.Setup(t)
	sink := b.NewSink(t)
	defer closeSink(t, sink, h.Timeout)
	connectSink(ctx, t, sink)

	gen := newIDGen()
	var want []string
	for _, size := range []int{1, 7, 50} {
		values, ids := gen.values(size)
		if err := sink.Write(ctx, b.messages(values)); err != nil {
			t.Fatalf("Write of %d messages: %v", size, err)
		}
		want = append(want, ids...)
	}

	var got []string
	for _, v := range b.Collect(ctx, t, len(want)) {
		if id := valueID(v); gen.ours(id) {
			got = append(got, id)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("collected %d of the %d messages written", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("collected message %d is %s, want %s (order not preserved)", i, got[i], want[i])
		}
	}
}

func sinkCloseIdempotent(t *testing.T, h SinkHarness) {
	ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
	defer cancel()
	sink := h.Setup(t).NewSink(t)
	connectSink(ctx, t, sink)
	for i := 0; i < 2; i++ {
		if err := sink.Close(ctx); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
}

func sinkCloseWithoutConnect(t *testing.T, h SinkHarness) {
	ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
	defer cancel()
	if err := h.Setup(t).NewSink(t).Close(ctx); err != nil {
		t.Fatalf("Close of a sink never connected: %v", err)
	}
}

func sinkWriteReturnsOnCancel(t *testing.T, h SinkHarness) {
	ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
	defer cancel()
	b := h.Setup(t)
	sink := b.NewSink(t)
	defer closeSink(t, sink, h.Timeout)
	connectSink(ctx, t, sink)
	gen := newIDGen()
	const wait = 100 * time.Millisecond
	limit := wait + 2*time.Second

	done, stop := context.WithCancel(ctx)
	stop()
	values, _ := gen.values(5)
	start := time.Now()
	_ = sink.Write(done, b.messages(values)) // may succeed or fail; it must return
	if elapsed := time.Since(start); elapsed > limit {
		t.Errorf("Write with a cancelled context took %v, want under %v", elapsed, limit)
	}

	if b.SetSlow == nil {
		return
	}
	b.SetSlow(t, true)
	defer b.SetSlow(t, false)
	writeCtx, stopWrite := context.WithTimeout(ctx, wait)
	defer stopWrite()
	values, _ = gen.values(5)
	start = time.Now()
	err := sink.Write(writeCtx, b.messages(values))
	elapsed := time.Since(start)
	if err == nil {
		t.Error("Write to a backend that does not answer returned nil, want an error")
	}
	if elapsed > limit {
		t.Errorf("Write returned %v after its context was done, want under %v", elapsed-wait, limit-wait)
	}
}

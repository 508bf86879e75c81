package pipelinetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/pipeline"
)

// SourceHarness adapts one pipeline.Source implementation to RunSourceSuite.
type SourceHarness struct {
	// Setup prepares an empty backing system for one subtest and registers its cleanup with
	// t.Cleanup. Required.
	Setup func(t *testing.T) SourceBackend
	// Redelivers declares that messages not acked (or nacked) by a closed source are read
	// again by the next source on the same backend, starting at the first unacked one.
	Redelivers bool
	// Timeout bounds each step of a subtest; default 10s.
	Timeout time.Duration
}

// SourceBackend is one backing system prepared by SourceHarness.Setup.
type SourceBackend struct {
	// NewSource returns a fresh, unconnected source reading this backend. Required.
	NewSource func(t *testing.T) pipeline.Source
	// Produce puts values into the backend, in order, each as one message whose Value is the
	// given JSON object (or an equivalent encoding of it). Required.
	Produce func(ctx context.Context, t *testing.T, values [][]byte)
	// Disrupt breaks src's connection so that Read reports pipeline.ErrNotConnected until
	// Connect succeeds again. Nil when the source cannot be disrupted.
	Disrupt func(t *testing.T, src pipeline.Source)
}

// RunSourceSuite checks the Source contract the runner relies on: at-least-once reading,
// also through a reconnect; redelivery of what was not acked, read from the right place;
// idempotent Close; and Read returning promptly when its context is cancelled.
func RunSourceSuite(t *testing.T, h SourceHarness) {
	t.Helper()
	if h.Timeout <= 0 {
		h.Timeout = 10 * time.Second
	}
	tests := []struct {
		name string
		run  func(*testing.T, SourceHarness)
	}{
		{"ReadsEveryProducedMessage", sourceReadsEveryMessage},
		{"AtLeastOnceThroughReconnect", sourceAtLeastOnceThroughReconnect},
		{"RedeliversWhatWasNotAcked", sourceRedeliversUnacked},
		{"CloseIsIdempotent", sourceCloseIdempotent},
		{"CloseWithoutConnect", sourceCloseWithoutConnect},
		{"ReadReturnsOnCancel", sourceReadReturnsOnCancel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, h) })
	}
}

// delivery is one message read by the suite.
type delivery struct {
	id  string
	ack pipeline.AckFunc
}

// connectSource connects src, retrying retriable errors until ctx is done.
func connectSource(ctx context.Context, t *testing.T, src pipeline.Source) {
	t.Helper()
	for {
		err := src.Connect(ctx)
		if err == nil {
			return
		}
		if errors.Is(err, pipeline.ErrFatal) || ctx.Err() != nil {
			t.Fatalf("Connect: %v", err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("Connect: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// readUntil reads (reconnecting on ErrNotConnected) until every id of want has been read,
// and returns all deliveries of the suite's own messages in read order. Foreign messages are
// acked and skipped.
func readUntil(ctx context.Context, t *testing.T, src pipeline.Source, gen *idGen, want []string) []delivery {
	t.Helper()
	missing := make(map[string]bool, len(want))
	for _, id := range want {
		missing[id] = true
	}
	var got []delivery
	for len(missing) > 0 {
		msg, ack, err := src.Read(ctx)
		switch {
		case errors.Is(err, pipeline.ErrNotConnected):
			connectSource(ctx, t, src)
			continue
		case err != nil:
			t.Fatalf("Read: %v (still missing %d of %d messages)", err, len(missing), len(want))
		}
		id := messageID(msg)
		if !gen.ours(id) {
			if err := ack(ctx, nil); err != nil {
				t.Fatalf("ack of a foreign message: %v", err)
			}
			continue
		}
		delete(missing, id)
		got = append(got, delivery{id: id, ack: ack})
	}
	return got
}

func ackAll(ctx context.Context, t *testing.T, ds []delivery) {
	t.Helper()
	for _, d := range ds {
		if err := d.ack(ctx, nil); err != nil {
			t.Fatalf("ack %s: %v", d.id, err)
		}
	}
}

func closeSource(t *testing.T, src pipeline.Source, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := src.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func sourceReadsEveryMessage(t *testing.T, h SourceHarness) {
	ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
	defer cancel()
	b := h.Setup(t)
	src := b.NewSource(t)
	defer closeSource(t, src, h.Timeout)
	connectSource(ctx, t, src)
	gen := newIDGen()
	values, ids := gen.values(50)
	b.Produce(ctx, t, values)
	ackAll(ctx, t, readUntil(ctx, t, src, gen, ids))
}

func sourceAtLeastOnceThroughReconnect(t *testing.T, h SourceHarness) {
	b := h.Setup(t)
	if b.Disrupt == nil {
		t.Skip("the source cannot be disrupted")
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
	defer cancel()
	src := b.NewSource(t)
	defer closeSource(t, src, h.Timeout)
	connectSource(ctx, t, src)
	gen := newIDGen()
	values, before := gen.values(10)
	b.Produce(ctx, t, values)
	ackAll(ctx, t, readUntil(ctx, t, src, gen, before))

	b.Disrupt(t, src)
	awaitNotConnected(ctx, t, src, gen)
	connectSource(ctx, t, src)

	values, after := gen.values(10)
	b.Produce(ctx, t, values)
	ackAll(ctx, t, readUntil(ctx, t, src, gen, after))
}

// awaitNotConnected reads until Read reports ErrNotConnected, acking redeliveries.
func awaitNotConnected(ctx context.Context, t *testing.T, src pipeline.Source, gen *idGen) {
	t.Helper()
	for {
		msg, ack, err := src.Read(ctx)
		switch {
		case errors.Is(err, pipeline.ErrNotConnected):
			return
		case err != nil:
			t.Fatalf("Read after Disrupt: %v, want an error wrapping ErrNotConnected", err)
		}
		if id := messageID(msg); gen.ours(id) {
			t.Logf("redelivered before the disconnect was reported: %s", id)
		}
		if err := ack(ctx, nil); err != nil {
			t.Fatalf("ack: %v", err)
		}
	}
}

func sourceRedeliversUnacked(t *testing.T, h SourceHarness) {
	if !h.Redelivers {
		t.Skip("the source does not redeliver")
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
	defer cancel()
	b := h.Setup(t)
	gen := newIDGen()
	values, ids := gen.values(10)
	b.Produce(ctx, t, values)

	first := b.NewSource(t)
	connectSource(ctx, t, first)
	got := readUntil(ctx, t, first, gen, ids)
	// Ack out of order (newest first), nack one and leave one unsettled.
	const unacked, nacked = 3, 7
	byID := map[string]delivery{}
	for _, d := range got {
		byID[d.id] = d
	}
	for i := len(ids) - 1; i >= 0; i-- {
		d := byID[ids[i]]
		switch i {
		case unacked:
		case nacked:
			if err := d.ack(ctx, errors.New("pipelinetest: nack")); err != nil {
				t.Fatalf("nack %s: %v", d.id, err)
			}
		default:
			if err := d.ack(ctx, nil); err != nil {
				t.Fatalf("ack %s: %v", d.id, err)
			}
		}
	}
	closeSource(t, first, h.Timeout)

	second := b.NewSource(t)
	defer closeSource(t, second, h.Timeout)
	connectSource(ctx, t, second)
	again := readUntil(ctx, t, second, gen, []string{ids[unacked], ids[nacked]})
	if again[0].id != ids[unacked] {
		t.Errorf("the new source started at %s, want the first unacked message %s", again[0].id, ids[unacked])
	}
	ackAll(ctx, t, again)
}

func sourceCloseIdempotent(t *testing.T, h SourceHarness) {
	ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
	defer cancel()
	src := h.Setup(t).NewSource(t)
	connectSource(ctx, t, src)
	for i := 0; i < 2; i++ {
		if err := src.Close(ctx); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
}

func sourceCloseWithoutConnect(t *testing.T, h SourceHarness) {
	ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
	defer cancel()
	if err := h.Setup(t).NewSource(t).Close(ctx); err != nil {
		t.Fatalf("Close of a source never connected: %v", err)
	}
}

func sourceReadReturnsOnCancel(t *testing.T, h SourceHarness) {
	ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
	defer cancel()
	src := h.Setup(t).NewSource(t)
	defer closeSource(t, src, h.Timeout)
	connectSource(ctx, t, src)

	const wait = 100 * time.Millisecond
	readCtx, stop := context.WithTimeout(ctx, wait)
	defer stop()
	start := time.Now()
	msg, _, err := src.Read(readCtx)
	elapsed := time.Since(start)
	if err == nil {
		t.Fatalf("Read on an empty backend returned message %q, want a context error", msg.Value)
	}
	if limit := wait + 2*time.Second; elapsed > limit {
		t.Errorf("Read returned %v after its context was done, want under %v", elapsed-wait, limit-wait)
	}
	if ctx.Err() != nil {
		t.Fatal("the suite's own timeout expired")
	}
}

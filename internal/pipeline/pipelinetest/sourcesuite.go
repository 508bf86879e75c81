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

	readBatch bool // the subtest reads through ReadBatch
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
// idempotent Close; and Read returning promptly when its context is cancelled. A source that
// is a pipeline.BatchSource runs the reading subtests a second time through ReadBatch
// (ReadBatch/...); for other sources those are skipped.
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
	batched := h
	batched.readBatch = true
	t.Run("ReadBatch", func(t *testing.T) {
		for _, tc := range tests[:3] {
			t.Run(tc.name, func(t *testing.T) { tc.run(t, batched) })
		}
		t.Run("ReadReturnsOnCancel", func(t *testing.T) { sourceReadReturnsOnCancel(t, batched) })
	})
}

// suiteBatch is the ReadBatch size of the suite's batch reader: small, so that batches of
// the suite's messages are often full.
const suiteBatch = 7

// sourceReader reads one message at a time from a source, with Read or through ReadBatch.
type sourceReader struct {
	src   pipeline.Source
	batch pipeline.BatchSource // nil: Read
	msgs  []*pipeline.Message  // read by ReadBatch and not yet returned, with acks
	acks  []pipeline.AckFunc
}

// newSourceReader returns the reader of src for h; with h.readBatch it skips t unless src
// is a pipeline.BatchSource.
func newSourceReader(t *testing.T, h SourceHarness, src pipeline.Source) *sourceReader {
	t.Helper()
	r := &sourceReader{src: src}
	if !h.readBatch {
		return r
	}
	bs, ok := src.(pipeline.BatchSource)
	if !ok {
		t.Skip("the source does not read in batches")
	}
	r.batch = bs
	return r
}

func (r *sourceReader) read(ctx context.Context, t *testing.T) (*pipeline.Message, pipeline.AckFunc, error) {
	t.Helper()
	if r.batch == nil {
		return r.src.Read(ctx)
	}
	if len(r.msgs) == 0 {
		msgs, acks := make([]*pipeline.Message, suiteBatch), make([]pipeline.AckFunc, suiteBatch)
		n, err := r.batch.ReadBatch(ctx, msgs, acks)
		switch {
		case err != nil && n != 0:
			t.Fatalf("ReadBatch returned %d messages with error %v, want 0", n, err)
		case err != nil:
			return nil, nil, err
		case n <= 0 || n > suiteBatch:
			t.Fatalf("ReadBatch returned %d messages into %d slots without an error", n, suiteBatch)
		}
		for i := range n {
			if msgs[i] == nil || acks[i] == nil {
				t.Fatalf("ReadBatch returned %d messages, message %d has no value or no AckFunc", n, i)
			}
		}
		r.msgs, r.acks = msgs[:n], acks[:n]
	}
	msg, ack := r.msgs[0], r.acks[0]
	r.msgs, r.acks = r.msgs[1:], r.acks[1:]
	return msg, ack, nil
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
func readUntil(ctx context.Context, t *testing.T, r *sourceReader, gen *idGen, want []string) []delivery {
	t.Helper()
	missing := make(map[string]bool, len(want))
	for _, id := range want {
		missing[id] = true
	}
	var got []delivery
	for len(missing) > 0 {
		msg, ack, err := r.read(ctx, t)
		switch {
		case errors.Is(err, pipeline.ErrNotConnected):
			connectSource(ctx, t, r.src)
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
	r := newSourceReader(t, h, src)
	connectSource(ctx, t, src)
	gen := newIDGen()
	values, ids := gen.values(50)
	b.Produce(ctx, t, values)
	ackAll(ctx, t, readUntil(ctx, t, r, gen, ids))
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
	r := newSourceReader(t, h, src)
	connectSource(ctx, t, src)
	gen := newIDGen()
	values, before := gen.values(10)
	b.Produce(ctx, t, values)
	ackAll(ctx, t, readUntil(ctx, t, r, gen, before))

	b.Disrupt(t, src)
	awaitNotConnected(ctx, t, r, gen)
	connectSource(ctx, t, src)

	values, after := gen.values(10)
	b.Produce(ctx, t, values)
	ackAll(ctx, t, readUntil(ctx, t, r, gen, after))
}

// awaitNotConnected reads until Read reports ErrNotConnected, acking redeliveries.
func awaitNotConnected(ctx context.Context, t *testing.T, r *sourceReader, gen *idGen) {
	t.Helper()
	for {
		msg, ack, err := r.read(ctx, t)
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
	got := readUntil(ctx, t, newSourceReader(t, h, first), gen, ids)
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
	again := readUntil(ctx, t, newSourceReader(t, h, second), gen, []string{ids[unacked], ids[nacked]})
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
	r := newSourceReader(t, h, src)
	connectSource(ctx, t, src)

	const wait = 100 * time.Millisecond
	readCtx, stop := context.WithTimeout(ctx, wait)
	defer stop()
	start := time.Now()
	msg, _, err := r.read(readCtx, t)
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

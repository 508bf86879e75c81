package benchmark

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// arrivals counts what the final reader of a scenario sees: the bench process's consumer or
// websocket reader. Each reader goroutine records through its own recorder. Messages are
// counted once per sequence number (a redelivered message is counted as a duplicate only);
// warm-up messages (negative sequence numbers) are not counted, and the first one closes warm.
type arrivals struct {
	want    int64
	latency bool            // record end-to-end latency samples
	seen    []atomic.Uint64 // a bit per sequence number 0..want-1
	n       atomic.Int64
	dups    atomic.Int64 // messages whose sequence number had arrived before
	warmN   atomic.Int64 // warm-up messages
	unstamp atomic.Int64 // messages without a readable stamp, or outside 0..want-1 (not counted)
	firstAt atomic.Int64 // unix nanos of the first counted arrival
	lastAt  atomic.Int64 // unix nanos of the want-th arrival
	first   chan struct{}
	done    chan struct{}
	warm    chan struct{}
	onceF   sync.Once
	onceW   sync.Once
	mu      sync.Mutex
	recs    []*recorder
}

func newArrivals(want int64, latency bool) *arrivals {
	return &arrivals{want: want, latency: latency, seen: make([]atomic.Uint64, (want+63)/64),
		first: make(chan struct{}), done: make(chan struct{}), warm: make(chan struct{})}
}

// recorder records the arrivals of one reader goroutine; not safe for concurrent use.
type recorder struct {
	a       *arrivals
	samples []int64
}

// recorder returns a recorder for one reader goroutine. Latency buffers are allocated here,
// before anything is sent.
func (a *arrivals) recorder() *recorder {
	r := &recorder{a: a}
	if a.latency {
		r.samples = make([]int64, 0, a.want)
	}
	a.mu.Lock()
	a.recs = append(a.recs, r)
	a.mu.Unlock()
	return r
}

// observe records one payload that arrived at now.
func (r *recorder) observe(payload []byte, now time.Time) {
	a := r.a
	st, ok := readStamp(payload)
	switch {
	case ok && st.seq < 0:
		a.warmN.Add(1)
		a.onceW.Do(func() { close(a.warm) })
		return
	case !ok || st.seq >= a.want:
		a.unstamp.Add(1)
		return
	}
	bit := uint64(1) << (st.seq % 64)
	if a.seen[st.seq/64].Or(bit)&bit != 0 {
		a.dups.Add(1)
		return
	}
	if a.latency {
		r.samples = append(r.samples, now.UnixNano()-st.sentAt)
	}
	n := a.n.Add(1)
	if n == 1 {
		a.firstAt.Store(now.UnixNano())
		a.onceF.Do(func() { close(a.first) })
	}
	if n == a.want {
		a.lastAt.Store(now.UnixNano())
		close(a.done)
	}
}

// received is the number of counted arrivals so far.
func (a *arrivals) received() int64 { return a.n.Load() }

// window is the time from the first to the want-th arrival; valid once done is closed.
func (a *arrivals) window() time.Duration {
	return time.Duration(a.lastAt.Load() - a.firstAt.Load())
}

// latencies merges every recorder's samples. Call it only once the readers have stopped.
func (a *arrivals) latencies() []int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	var all []int64
	for _, r := range a.recs {
		all = append(all, r.samples...)
	}
	return all
}

// waitFor blocks until ch is closed, a worker reports an error on errc, the measured process
// exits, or ctx ends.
func waitFor(ctx context.Context, ch <-chan struct{}, what string, errc <-chan error, exited <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case err := <-errc:
		return err
	case <-exited:
		return fmt.Errorf("%w: the measured process exited while waiting for %s", ErrIncomplete, what)
	case <-ctx.Done():
		return fmt.Errorf("%w: waiting for %s: %w", ErrIncomplete, what, ctx.Err())
	}
}

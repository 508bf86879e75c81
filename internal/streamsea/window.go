package streamsea

import (
	"sync"
	"time"
)

// window holds a Subscriber's deliveries from the moment they are read off the websocket until
// the consumer releases them: queued (not yet taken by Next) and then handed out (taken, not
// yet released). It is the subscriber's backpressure: the reader reads no further frame while
// the held messages or bytes are at their limit.
//
// Deliveries are numbered in the order they were read; the ring keeps every slot from the
// oldest unreleased one to the newest, so that the oldest age is exact whatever order releases
// come in. The consumer releases in order in practice, and the ring then spans about what is
// held.
type window struct {
	maxMsgs  int
	maxBytes int64 // 0: no byte limit

	mu    sync.Mutex
	ring  []heldSlot // circular; len is a power of two; slot of seq is ring[seq&(len-1)]
	base  uint64     // seq of the oldest unreleased delivery (== end when none)
	next  uint64     // seq of the next delivery Next hands out
	end   uint64     // seq the next delivery read gets
	held  int        // deliveries base..end not released
	bytes int64      // their payload bytes

	arrived chan struct{} // capacity 1: a delivery was queued
	room    chan struct{} // capacity 1: a delivery was released
}

type heldSlot struct {
	d        Delivery
	released bool
}

// WindowStats is a snapshot of what a Subscriber holds.
type WindowStats struct {
	Held      int       // deliveries read from the websocket and not yet released
	HeldBytes int64     // their payload bytes
	Queued    int       // of those, not yet taken by Next
	Oldest    time.Time // when the oldest held delivery was received; zero when none
	Paused    bool      // the reader is waiting for room instead of reading the websocket
}

func newWindow(maxMsgs int, maxBytes int64) *window {
	return &window{
		maxMsgs: maxMsgs, maxBytes: maxBytes,
		base: 1, next: 1, end: 1, // seq 0 is never handed out: a zero Delivery is not released
		ring:    make([]heldSlot, 64),
		arrived: make(chan struct{}, 1),
		room:    make(chan struct{}, 1),
	}
}

// full reports whether the reader must wait before reading another frame.
func (w *window) full() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.isFull()
}

// isFull is full with mu held.
func (w *window) isFull() bool {
	return w.held >= w.maxMsgs || (w.maxBytes > 0 && w.bytes >= w.maxBytes)
}

// push queues the deliveries of one frame, numbering them, and reports whether the window is
// full now. It never blocks: the reader checks before reading a frame, so a frame read below
// the limits is kept whole.
func (w *window) push(ds []Delivery) (full bool) {
	w.mu.Lock()
	wasEmpty := w.next == w.end
	for _, d := range ds {
		if int(w.end-w.base) == len(w.ring) {
			w.grow()
		}
		d.seq = w.end
		w.ring[w.end&uint64(len(w.ring)-1)] = heldSlot{d: d}
		w.end++
		w.held++
		w.bytes += int64(len(d.Payload))
	}
	full = w.isFull()
	w.mu.Unlock()
	if wasEmpty && len(ds) > 0 {
		signal(w.arrived) // Next waits only after finding nothing queued
	}
	return full
}

func (w *window) grow() {
	bigger := make([]heldSlot, 2*len(w.ring))
	for seq := w.base; seq < w.end; seq++ {
		bigger[seq&uint64(len(bigger)-1)] = w.ring[seq&uint64(len(w.ring)-1)]
	}
	w.ring = bigger
}

// pop hands out the oldest queued delivery.
func (w *window) pop() (Delivery, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.next == w.end {
		return Delivery{}, false
	}
	d := w.ring[w.next&uint64(len(w.ring)-1)].d
	w.next++
	return d, true
}

// release ends the holding of a handed-out delivery. It reports false, changing nothing, for
// a delivery that was not handed out by this window or was already released.
func (w *window) release(d Delivery) bool {
	w.mu.Lock()
	if d.seq < w.base || d.seq >= w.next {
		w.mu.Unlock()
		return false
	}
	mask := uint64(len(w.ring) - 1)
	s := &w.ring[d.seq&mask]
	if s.released {
		w.mu.Unlock()
		return false
	}
	wasFull := w.isFull()
	w.held--
	w.bytes -= int64(len(s.d.Payload))
	*s = heldSlot{released: true}
	for w.base < w.next && w.ring[w.base&mask].released {
		w.ring[w.base&mask] = heldSlot{}
		w.base++
	}
	w.mu.Unlock()
	if wasFull {
		signal(w.room) // the reader waits only after finding the window full
	}
	return true
}

func (w *window) stats() WindowStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := WindowStats{Held: w.held, HeldBytes: w.bytes, Queued: int(w.end - w.next)}
	if w.base < w.end {
		st.Oldest = w.ring[w.base&uint64(len(w.ring)-1)].d.ReceivedAt
	}
	return st
}

// signal wakes the one waiter of c, if any, without blocking.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

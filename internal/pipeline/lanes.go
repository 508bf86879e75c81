package pipeline

import (
	"context"
	"hash/fnv"
	"slices"
	"sync"
)

// lanesPerWriter is how many lanes the reader cuts batches into per concurrent writer. More
// lanes than writers let a writer that finishes find another lane's batch ready even when the
// partitions do not spread evenly over the lanes.
const lanesPerWriter = 2

// laneCount is the number of lanes for writers concurrent writers: one when writes are not
// concurrent, since a single writer keeps every order anyway.
func laneCount(writers int) int {
	if writers <= 1 {
		return 1
	}
	return writers * lanesPerWriter
}

// laneHasher maps a message's source partition to a lane. Messages of one partition (the same
// Topic and Partition) always map to the same lane; messages without a topic (stream-sea) all
// share one lane per Partition value, which is zero.
type laneHasher struct {
	lanes     uint32
	lastTopic string
	lastHash  uint32
}

func (h *laneHasher) lane(m *Message) int {
	if h.lanes <= 1 {
		return 0
	}
	if m.Topic != h.lastTopic {
		f := fnv.New32a()
		_, _ = f.Write([]byte(m.Topic))
		h.lastTopic, h.lastHash = m.Topic, f.Sum32()
	}
	return int((h.lastHash + uint32(m.Partition)) % h.lanes)
}

// writeQueue hands batches from the reader to the writers. Every batch belongs to a lane. A
// lane has at most one batch being written at a time and its batches are taken in the order
// they were put, so the writes of one lane never overlap and never reorder; writers take the
// oldest queued batch of any lane that is not being written. Safe for concurrent use.
type writeQueue struct {
	mu      sync.Mutex
	changed *sync.Cond
	lanes   [][]*batch // queued batches per lane, oldest first
	busy    []bool     // the lane has a batch being written
	queued  int
	max     int    // put blocks while this many batches are queued
	seq     uint64 // put order, stamped on each batch
	closed  bool   // the reader puts no more
	stopped bool   // the writers stopped early: put refuses, take returns nothing
	// releases counts release calls; onRelease, when set, is called by the next one.
	releases  uint64
	onRelease func()
}

func newWriteQueue(lanes, max int) *writeQueue {
	q := &writeQueue{lanes: make([][]*batch, lanes), busy: make([]bool, lanes), max: max}
	q.changed = sync.NewCond(&q.mu)
	return q
}

// put queues b on its lane, blocking while the queue is full. It returns false, without
// queueing b, once the writers have stopped: the caller then settles b itself.
func (q *writeQueue) put(b *batch) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.queued >= q.max && !q.stopped {
		q.changed.Wait()
	}
	if q.stopped {
		return false
	}
	q.seq++
	b.seq = q.seq
	q.lanes[b.lane] = append(q.lanes[b.lane], b)
	q.queued++
	q.changed.Broadcast()
	return true
}

// take returns the oldest queued batch of a lane that is not being written, marking the lane
// busy until release, blocking until there is one. It returns false once the queue is closed
// and empty, or stopped.
func (q *writeQueue) take() (*batch, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		if q.stopped {
			return nil, false
		}
		lane := -1
		for i, l := range q.lanes {
			if len(l) > 0 && !q.busy[i] && (lane < 0 || l[0].seq < q.lanes[lane][0].seq) {
				lane = i
			}
		}
		if lane >= 0 {
			b := q.lanes[lane][0]
			q.lanes[lane][0] = nil
			q.lanes[lane] = q.lanes[lane][1:]
			q.busy[lane] = true
			q.queued--
			q.changed.Broadcast()
			return b, true
		}
		if q.closed && q.queued == 0 {
			return nil, false
		}
		q.changed.Wait()
	}
}

// laneIdle reports whether lane has no batch queued or being written.
func (q *writeQueue) laneIdle(lane int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return !q.busy[lane] && len(q.lanes[lane]) == 0
}

// release marks the lane of b, taken with take, free for its next batch.
func (q *writeQueue) release(b *batch) {
	q.mu.Lock()
	q.busy[b.lane] = false
	q.releases++
	if q.onRelease != nil {
		q.onRelease()
		q.onRelease = nil
	}
	q.changed.Broadcast()
	q.mu.Unlock()
}

// releaseCount returns how many batches have been released so far.
func (q *writeQueue) releaseCount() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.releases
}

// untilRelease returns a context that is done with parent, or once a batch is released after
// the first seen releases (at once if one was), and the func that ends the wait.
func (q *writeQueue) untilRelease(parent context.Context, seen uint64) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.releases != seen || q.stopped {
		cancel()
		return ctx, cancel
	}
	q.onRelease = cancel
	return ctx, func() {
		q.mu.Lock()
		q.onRelease = nil
		q.mu.Unlock()
		cancel()
	}
}

// waitIdle blocks until no batch is queued or being written (every batch put so far has
// been written or given up on), or the writers stopped.
func (q *writeQueue) waitIdle() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for !q.stopped && (q.queued > 0 || slices.Contains(q.busy, true)) {
		q.changed.Wait()
	}
}

// close says that no more batches will be put; writers return once the queue is empty.
func (q *writeQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.changed.Broadcast()
	q.mu.Unlock()
}

// stop makes every take and put return at once; the queued batches stay for drain.
func (q *writeQueue) stop() {
	q.mu.Lock()
	q.stopped = true
	q.changed.Broadcast()
	q.mu.Unlock()
}

// drain removes and returns the queued batches, oldest first within each lane.
func (q *writeQueue) drain() []*batch {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []*batch
	for i, l := range q.lanes {
		out = append(out, l...)
		q.lanes[i] = nil
	}
	q.queued = 0
	return out
}

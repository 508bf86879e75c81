package source

import (
	"sort"
	"sync"
)

// topicPartition names one partition of one topic.
type topicPartition struct {
	topic     string
	partition int
}

// offsetEntry is one fetched message of a partition, in fetch order.
type offsetEntry struct {
	offset int64
	done   bool
}

// partitionOffsets tracks the messages of one partition fetched in one assignment epoch. A new
// epoch starts when the reader goes back in the partition (after a rebalance it resumes from the
// committed offset): the old epoch's messages are then redelivered by the new one, so the old
// epoch is dropped from the tracker and its late acks only release in-flight slots.
type partitionOffsets struct {
	tp      topicPartition
	pending []offsetEntry // not yet part of the done prefix, offsets increasing
	last    int64         // offset of the last fetched message
	// next is the commit position: one past the last message of the done prefix, -1 when no
	// message of this epoch is done yet. Kafka expects the offset of the next message to read.
	next      int64
	committed int64 // last commit position that Kafka accepted, -1 when none
}

// offsetTracker records fetched messages per partition and computes, per partition, the
// highest commit position below which every fetched message is done. Safe for concurrent use.
type offsetTracker struct {
	mu    sync.Mutex
	parts map[topicPartition]*partitionOffsets
}

func newOffsetTracker() *offsetTracker {
	return &offsetTracker{parts: make(map[topicPartition]*partitionOffsets)}
}

// add records a fetched message and returns the epoch it belongs to, to be passed to done.
func (t *offsetTracker) add(topic string, partition int, offset int64) *partitionOffsets {
	tp := topicPartition{topic, partition}
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.parts[tp]
	if p == nil || offset <= p.last {
		p = &partitionOffsets{tp: tp, next: -1, committed: -1}
		t.parts[tp] = p
	}
	p.last = offset
	p.pending = append(p.pending, offsetEntry{offset: offset})
	return p
}

// done marks a message of epoch p as done and advances the commit position over the done
// prefix. Messages never marked done (nacked, or not acked yet) hold the position back.
func (t *offsetTracker) done(p *partitionOffsets, offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := sort.Search(len(p.pending), func(i int) bool { return p.pending[i].offset >= offset })
	if i == len(p.pending) || p.pending[i].offset != offset {
		return
	}
	p.pending[i].done = true
	n := 0
	for n < len(p.pending) && p.pending[n].done {
		n++
	}
	if n > 0 {
		p.next = p.pending[n-1].offset + 1
		p.pending = p.pending[n:]
	}
}

// commitPosition is what one partition can commit now.
type commitPosition struct {
	part   *partitionOffsets
	offset int64 // the commit position: the next offset to read
}

// commitable returns the partitions whose commit position moved past what Kafka accepted.
func (t *offsetTracker) commitable() []commitPosition {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []commitPosition
	for _, p := range t.parts {
		if p.next > p.committed {
			out = append(out, commitPosition{part: p, offset: p.next})
		}
	}
	return out
}

// committed records that Kafka accepted the positions.
func (t *offsetTracker) committed(positions []commitPosition) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range positions {
		if c.offset > c.part.committed {
			c.part.committed = c.offset
		}
	}
}

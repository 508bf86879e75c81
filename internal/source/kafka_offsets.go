package source

import "sort"

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

// partitionOffsets tracks the messages of one partition fetched in one generation and the
// commit position they allow: one past the longest prefix of fetched messages that are all
// done. Not safe for concurrent use: its generation's mutex guards it.
type partitionOffsets struct {
	tp    topicPartition
	start int64 // where the generation starts reading: a committed offset, or kafka.FirstOffset/LastOffset
	// pending[head:] are the messages fetched and not yet part of the done prefix, offsets
	// increasing; pending[:head] are spent, and reused once add finds the slice full.
	pending []offsetEntry
	head    int
	// next is the commit position: one past the last message of the done prefix, -1 while no
	// message is done. Kafka expects the offset of the next message to read.
	next int64
	// committed is the last commit position Kafka accepted in this generation, or the
	// committed offset the generation started from; -1 when none.
	committed int64
}

func newPartitionOffsets(tp topicPartition, start int64) *partitionOffsets {
	return &partitionOffsets{tp: tp, start: start, next: -1, committed: max(start, -1)}
}

// add records a fetched message. Offsets must increase. The spent front of pending is reused
// when the slice is full and at least half of it is spent, so that a partition read at a
// steady rate allocates nothing once its slice is large enough.
func (p *partitionOffsets) add(offset int64) {
	if len(p.pending) == cap(p.pending) && p.head >= len(p.pending)/2 && p.head > 0 {
		n := copy(p.pending, p.pending[p.head:])
		p.pending, p.head = p.pending[:n], 0
	}
	p.pending = append(p.pending, offsetEntry{offset: offset})
}

// unsettled returns the messages fetched and not yet part of the done prefix.
func (p *partitionOffsets) unsettled() []offsetEntry { return p.pending[p.head:] }

// done marks a fetched message as done and advances the commit position over the done prefix.
// Messages never marked done (nacked, abandoned, or not acked yet) hold the position back.
func (p *partitionOffsets) done(offset int64) {
	live := p.pending[p.head:]
	i := sort.Search(len(live), func(i int) bool { return live[i].offset >= offset })
	if i == len(live) || live[i].offset != offset {
		return
	}
	live[i].done = true
	n := 0
	for n < len(live) && live[n].done {
		n++
	}
	if n == 0 {
		return
	}
	p.next = live[n-1].offset + 1
	p.head += n
	if p.head == len(p.pending) {
		p.pending, p.head = p.pending[:0], 0
	}
}

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
	tp      topicPartition
	start   int64         // where the generation starts reading: a committed offset, or kafka.FirstOffset/LastOffset
	pending []offsetEntry // fetched and not yet part of the done prefix, offsets increasing
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

// add records a fetched message. Offsets must increase.
func (p *partitionOffsets) add(offset int64) {
	p.pending = append(p.pending, offsetEntry{offset: offset})
}

// done marks a fetched message as done and advances the commit position over the done prefix.
// Messages never marked done (nacked, abandoned, or not acked yet) hold the position back.
func (p *partitionOffsets) done(offset int64) {
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

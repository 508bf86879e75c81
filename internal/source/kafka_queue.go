package source

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/seabridge/seabridge/internal/pipeline"
)

// deliveryQueue hands fetched messages from the partition fetchers to Read, in the order each
// fetcher pushed them, and bounds what is in flight: the messages queued plus those handed to
// Read and not yet acked or nacked, by count (max) and by their bytes of key, value and headers
// (maxBytes). One record larger than maxBytes is let in when nothing else holds bytes in
// flight, so that it passes alone instead of blocking its partition for good. A push is one
// short critical section; a ReadBatch takes everything queued at once, so the reader pays one
// hand-off per batch, not per message. A fetcher that found no room waits until acks brought
// the count down to wakeAt and the bytes down to wakeAtBytes, so that an ack costs two atomic
// adds and the waiting fetchers are woken once per slack acks, not once per ack. Safe for
// concurrent use.
type deliveryQueue struct {
	max, wakeAt           int64 // most messages in flight; where waiting fetchers are woken
	maxBytes, wakeAtBytes int64 // the same for their bytes

	inFlight, inFlightBytes atomic.Int64
	// waiting counts the fetchers waiting on space; changed with mu held.
	waiting atomic.Int32

	mu   sync.Mutex
	recs []*kafkaRecord // queued, oldest first from head
	head int
	// readerWaiting: the reader found the queue empty and waits for readable.
	readerWaiting bool
	readable      chan struct{} // capacity 1; a push after the reader found the queue empty sends
	// space is closed, and replaced, when acks bring what is in flight down to wakeAt and
	// wakeAtBytes while fetchers wait.
	space chan struct{}
}

func newDeliveryQueue(limit int, limitBytes int64) *deliveryQueue {
	return &deliveryQueue{max: int64(limit), wakeAt: int64(limit) - max(1, int64(limit)/16),
		maxBytes: limitBytes, wakeAtBytes: limitBytes - max(1, limitBytes/16),
		readable: make(chan struct{}, 1), space: make(chan struct{})}
}

// fits reports whether a record of size bytes may enter now.
func (q *deliveryQueue) fits(size int64) bool {
	if q.inFlight.Load() >= q.max {
		return false
	}
	b := q.inFlightBytes.Load()
	return b == 0 || b+size <= q.maxBytes
}

// push queues rec once it fits in flight. It returns false without queueing rec when ctx (the
// generation of rec) is done first, so that nothing of a generation that ended is queued after
// removeGeneration.
func (q *deliveryQueue) push(ctx context.Context, rec *kafkaRecord) bool {
	one := [1]*kafkaRecord{rec}
	n, _ := q.pushAll(ctx, one[:])
	return n == 1
}

// pushAll queues recs in order, as many at a time as the bounds on messages and bytes in
// flight allow, waiting for room as push does. It returns how many it queued, fewer than
// len(recs) only when ctx ended first, and whether it had to wait for room.
func (q *deliveryQueue) pushAll(ctx context.Context, recs []*kafkaRecord) (n int, waited bool) {
	q.mu.Lock()
	for n < len(recs) {
		for !q.fits(recs[n].size) && ctx.Err() == nil {
			waited = true
			space := q.space
			q.waiting.Add(1)
			if q.fits(recs[n].size) { // an ack came between the check and the count
				q.waiting.Add(-1)
				break
			}
			q.mu.Unlock()
			select {
			case <-space:
			case <-ctx.Done():
			}
			q.mu.Lock()
			if space == q.space { // not woken: no longer waiting
				q.waiting.Add(-1)
			}
		}
		if ctx.Err() != nil {
			break
		}
		// Only pushes add to what is in flight, and they hold mu: the room seen here can only
		// grow while the records are counted.
		room := min(int(q.max-q.inFlight.Load()), len(recs)-n)
		before := q.inFlightBytes.Load()
		bytes, k := before, 0
		for ; k < room && (bytes == 0 || bytes+recs[n+k].size <= q.maxBytes); k++ {
			bytes += recs[n+k].size
		}
		q.inFlight.Add(int64(k))
		q.inFlightBytes.Add(bytes - before)
		q.recs = append(q.recs, recs[n:n+k]...)
		n += k
		if q.readerWaiting {
			q.readerWaiting = false
			select {
			case q.readable <- struct{}{}:
			default:
			}
		}
	}
	q.mu.Unlock()
	return n, waited
}

// take moves up to len(dst) queued records into dst and returns how many. When the queue is
// empty it returns 0 and the channel that the next push signals.
func (q *deliveryQueue) take(dst []*kafkaRecord) (int, <-chan struct{}) {
	q.mu.Lock()
	defer q.mu.Unlock()
	queued := q.recs[q.head:]
	if len(queued) == 0 {
		q.readerWaiting = true
		return 0, q.readable
	}
	n := copy(dst, queued)
	clear(queued[:n])
	q.head += n
	switch {
	case q.head == len(q.recs):
		q.recs, q.head = q.recs[:0], 0
	case q.head > cap(q.recs)/2:
		left := copy(q.recs, q.recs[q.head:])
		clear(q.recs[left:])
		q.recs, q.head = q.recs[:left], 0
	}
	return n, nil
}

// release records that n messages of size bytes in all left the in-flight set (acked, nacked
// or abandoned), and wakes the waiting fetchers once no more than wakeAt messages and
// wakeAtBytes bytes are left.
func (q *deliveryQueue) release(n int, size int64) {
	b := q.inFlightBytes.Add(-size)
	if q.inFlight.Add(-int64(n)) > q.wakeAt || b > q.wakeAtBytes || q.waiting.Load() == 0 {
		return
	}
	q.mu.Lock()
	if q.waiting.Load() > 0 && q.inFlight.Load() <= q.wakeAt && q.inFlightBytes.Load() <= q.wakeAtBytes {
		q.waiting.Store(0) // every fetcher waiting now is woken
		close(q.space)
		q.space = make(chan struct{})
	}
	q.mu.Unlock()
}

// removeGeneration takes the queued records of g out of the queue and returns them, keeping
// the order of the others. They still count as in flight until the caller abandons them.
func (q *deliveryQueue) removeGeneration(g *kafkaGeneration) []*kafkaRecord {
	q.mu.Lock()
	defer q.mu.Unlock()
	var removed []*kafkaRecord
	kept := q.recs[:0]
	for _, rec := range q.recs[q.head:] {
		if rec.gen == g {
			removed = append(removed, rec)
			continue
		}
		kept = append(kept, rec)
	}
	clear(q.recs[len(kept):])
	q.recs, q.head = kept, 0
	return removed
}

// recordSlab hands out kafkaRecords allocated a chunk at a time, so that a fetcher pays one
// allocation per chunk instead of one per message. A chunk is freed once none of its records
// is referenced any more.
type recordSlab struct {
	free []kafkaRecord
}

const recordSlabSize = 64

func (s *recordSlab) next() *kafkaRecord {
	if len(s.free) == 0 {
		s.free = make([]kafkaRecord, recordSlabSize)
	}
	rec := &s.free[0]
	s.free = s.free[1:]
	return rec
}

// kafkaRecord is one fetched message, its place in its generation's bookkeeping and its ack
// state, in one allocation.
type kafkaRecord struct {
	msg    pipeline.Message
	gen    *kafkaGeneration
	part   *partitionOffsets
	offset int64
	size   int64            // bytes of key, value and headers, as counted in flight
	ackFn  pipeline.AckFunc // rec.ack, bound once
	called atomic.Bool
}

// fill sets the message from m, fetched at readAt.
func (rec *kafkaRecord) fill(m *kafka.Message, readAt time.Time) {
	rec.msg = pipeline.Message{
		Key:        m.Key,
		Value:      m.Value,
		Headers:    convertHeaders(m.Headers),
		Topic:      m.Topic,
		Partition:  m.Partition,
		Offset:     m.Offset,
		Time:       m.Time,
		ReceivedAt: readAt,
	}
	rec.size = int64(len(m.Key) + len(m.Value))
	for _, h := range m.Headers {
		rec.size += int64(len(h.Key) + len(h.Value))
	}
}

// ack marks the message done (err == nil) or leaves it uncommitted (err != nil), and frees its
// in-flight slot. After its generation ended it only frees the slot.
func (rec *kafkaRecord) ack(_ context.Context, err error) error {
	if rec.called.Swap(true) {
		return ErrAckedTwice
	}
	rec.gen.settle(rec.part, rec.offset, err == nil)
	s := rec.gen.sess
	s.metrics.pending.Dec()
	s.metrics.pendingBytes.Sub(float64(rec.size))
	s.queue.release(1, rec.size)
	return nil
}

// abandon settles a message that never reached Read: it stays uncommitted.
func (rec *kafkaRecord) abandon() {
	rec.called.Store(true)
	rec.gen.settle(rec.part, rec.offset, false)
	rec.gen.sess.queue.release(1, rec.size)
}

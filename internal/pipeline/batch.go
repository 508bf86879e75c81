package pipeline

// poisoned is a message the mapper rejected; it goes to the dead-letter path with its reason.
type poisoned struct {
	msg    *Message
	rec    *ackRecord
	reason error
}

// batch is what the reader hands to the writer: the messages for one sink write, the ack
// record of each (parallel slices), and the mapper's rejects. Batches are recycled.
type batch struct {
	msgs    []*Message
	recs    []*ackRecord
	poison  []poisoned
	bytes   int
	sources int    // source messages whose ack record was created for this batch
	lane    int    // the lane of every message in the batch (see writeQueue)
	seq     uint64 // put order in the writeQueue
}

func (b *batch) empty() bool { return len(b.msgs) == 0 && len(b.poison) == 0 }

func (b *batch) add(m *Message, rec *ackRecord) {
	b.msgs = append(b.msgs, m)
	b.recs = append(b.recs, rec)
	b.bytes += messageBytes(m)
}

func (b *batch) addPoison(m *Message, rec *ackRecord, reason error) {
	b.poison = append(b.poison, poisoned{msg: m, rec: rec, reason: reason})
}

func (b *batch) reset() {
	clear(b.msgs)
	clear(b.recs)
	clear(b.poison)
	b.msgs, b.recs, b.poison = b.msgs[:0], b.recs[:0], b.poison[:0]
	b.bytes, b.sources, b.lane, b.seq = 0, 0, 0, 0
}

func messageBytes(m *Message) int { return len(m.Key) + len(m.Value) }

// batchPool recycles batches between the writer and the reader without blocking either.
type batchPool struct {
	free     chan *batch
	capacity int
}

func newBatchPool(size, capacity int) *batchPool {
	return &batchPool{free: make(chan *batch, size), capacity: capacity}
}

func (p *batchPool) get() *batch {
	select {
	case b := <-p.free:
		return b
	default:
		return &batch{msgs: make([]*Message, 0, p.capacity), recs: make([]*ackRecord, 0, p.capacity)}
	}
}

func (p *batchPool) put(b *batch) {
	b.reset()
	select {
	case p.free <- b:
	default:
	}
}

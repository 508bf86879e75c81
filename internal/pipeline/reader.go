package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/seabridge/seabridge/internal/backoff"
)

// ReadChunk is the most messages the reader takes from a BatchSource with one ReadBatch: while
// the writers are busy, up to that many read messages can wait in the reader, in no batch yet.
const ReadChunk = 256

// reader is the state of the reader goroutine: the batch being filled in each lane and the
// linger context.
type reader struct {
	*flow
	batchSrc BatchSource // the source, when it reads in batches
	msgs     []*Message  // what the last read returned, with acks
	acks     []AckFunc
	recs     ackRecords
	cur      []*batch // the batch being filled, per lane
	open     int      // lanes whose batch is not empty
	lanes    laneHasher
	// linger is done Linger after the first message that found every lane empty; nil while
	// every lane is empty. When it expires every lane is flushed.
	linger     context.Context
	stopLinger context.CancelFunc
	in         int // source messages read since the last flush
	filtered   int
	// reconnected: the source was reconnected and has not returned a message since.
	reconnected bool
	// awaitRelease: a partial batch waits for its lane's write to end, with the source
	// drained; Read then returns when the queue has released a batch since releasesSeen.
	awaitRelease bool
	releasesSeen uint64
	// poisoned is the error of a mapper poison message that stops the runner: reading
	// stopped at it.
	poisoned error
}

func newReader(f *flow) *reader {
	rd := &reader{flow: f, cur: make([]*batch, len(f.queue.lanes))}
	size := 1
	if bs, ok := f.r.opts.Source.(BatchSource); ok {
		rd.batchSrc, size = bs, ReadChunk
	}
	rd.msgs, rd.acks = make([]*Message, size), make([]AckFunc, size)
	rd.lanes.lanes = uint32(len(rd.cur))
	for i := range rd.cur {
		rd.cur[i] = f.pool.get()
		rd.cur[i].lane = i
	}
	return rd
}

// read reads, maps and batches until ctx is done or the source fails fatally. Once ctx is
// done it reads no more, except from an IntakeStopper, which it drains within drainCtx (the
// shutdown budget). It flushes its partial batches and closes the queue before returning.
func (f *flow) read(ctx, drainCtx context.Context) error {
	rd := newReader(f)
	defer f.queue.close()
	defer rd.flush()
	bo := backoff.New(f.r.opts.Retry)
	for ctx.Err() == nil {
		readCtx := rd.readContext(ctx)
		stopWait := func() {}
		if rd.awaitRelease {
			readCtx, stopWait = rd.queue.untilRelease(readCtx, rd.releasesSeen)
		}
		n, err := rd.readSome(readCtx)
		released := readCtx.Err() != nil && (rd.linger == nil || rd.linger.Err() == nil)
		stopWait()
		if err == nil {
			bo.Reset()
			rd.reconnected = false
			rd.acceptRead(ctx, n)
			if rd.poisoned != nil {
				return rd.poisoned
			}
			rd.awaitRelease = false
			if rd.batchSrc != nil && n < len(rd.msgs) {
				rd.flushIdle() // the source has nothing more ready
			}
			continue
		}
		if ctx.Err() != nil {
			break
		}
		if released { // a write ended while the source had nothing ready
			rd.flushIdle()
			continue
		}
		lingerExpired := readCtx != ctx && readCtx.Err() != nil
		rd.flush()
		if lingerExpired {
			continue
		}
		if err := rd.recover(ctx, err, bo); err != nil {
			if err = ignoreCancel(ctx, err); err != nil {
				return err
			}
		}
	}
	rd.drain(drainCtx)
	return nil
}

// drain stops the intake of a source that cannot redeliver and reads what it still holds,
// until Read fails (ErrDrained once everything was read) or ctx, the shutdown budget, is done.
// What is left unread then is the source's to account for when it is closed.
func (rd *reader) drain(ctx context.Context) {
	src := rd.r.opts.Source
	stopper, ok := src.(IntakeStopper)
	if !ok {
		return
	}
	stopper.StopIntake()
	for ctx.Err() == nil {
		readCtx := rd.readContext(ctx) // a batch started before the shutdown is flushed first
		n, err := rd.readSome(readCtx)
		switch {
		case err == nil:
			rd.acceptRead(ctx, n)
		case readCtx != ctx && readCtx.Err() != nil:
			rd.flush() // linger expired: the source may hold back more until these are acked
		default:
			if failure := rd.r.sourceFailure(); failure != nil && errors.Is(err, failure) {
				return // Run reports it
			}
			if !errors.Is(err, ErrDrained) && ctx.Err() == nil {
				rd.r.countError(stageSource, err)
				rd.r.log.Warn("reading what the source received stopped early", "err", err)
			}
			return
		}
	}
}

// readContext returns the context of the next read: the linger deadline while a batch
// lingers, else ctx. A batch whose linger has expired is flushed first: a source that always
// has a message ready returns it whatever its context, so it would otherwise be read with an
// expired deadline, and the batch would outlive its linger until it filled up.
func (rd *reader) readContext(ctx context.Context) context.Context {
	if rd.linger != nil && rd.linger.Err() != nil {
		rd.flush()
	}
	if rd.linger != nil {
		return rd.linger
	}
	return ctx
}

// recover handles a failed Read: reconnect on ErrNotConnected (after backing off when the
// connection was lost again before a message was read), stop on ErrFatal, otherwise back off
// and let the caller read again.
func (rd *reader) recover(ctx context.Context, err error, bo *backoff.Backoff) error {
	r := rd.r
	switch {
	case errors.Is(err, ErrNotConnected):
		if rd.reconnected {
			if err := bo.Wait(ctx); err != nil {
				return err
			}
		}
		rd.reconnected = true
		return r.reconnect(ctx, sideSource, r.opts.Source.Connect, err)
	case errors.Is(err, ErrFatal):
		return fmt.Errorf("read: %w", err)
	default:
		r.countError(stageSource, err)
		r.countRetry()
		r.log.Warn("read failed, retrying", "attempt", bo.Attempt()+1, "err", err)
		r.retrying.Add(1)
		defer r.retrying.Add(-1)
		return bo.Wait(ctx)
	}
}

// readSome reads what the source has ready into rd.msgs and rd.acks: one message with Read,
// up to ReadChunk with ReadBatch.
func (rd *reader) readSome(ctx context.Context) (int, error) {
	if rd.batchSrc != nil {
		return rd.batchSrc.ReadBatch(ctx, rd.msgs, rd.acks)
	}
	msg, ack, err := rd.r.opts.Source.Read(ctx)
	if err != nil {
		return 0, err
	}
	rd.msgs[0], rd.acks[0] = msg, ack
	return 1, nil
}

// acceptRead accepts the n messages of the last read, in order. Once a poison message stopped
// reading, the messages read after it are nacked (ErrStopped): nothing after it is written.
func (rd *reader) acceptRead(ctx context.Context, n int) {
	for i := range n {
		msg, ack := rd.msgs[i], rd.acks[i]
		rd.msgs[i], rd.acks[i] = nil, nil
		if rd.poisoned == nil {
			rd.accept(ctx, msg, ack)
			continue
		}
		rd.in++
		rd.r.c.nacked.Add(1)
		rd.r.m.nacked.Inc()
		if err := ack(rd.ackCtx, ErrStopped); err != nil {
			rd.ackFailed(err)
		}
	}
}

// accept maps one source message and adds its outputs to the current batch of its lane.
func (rd *reader) accept(ctx context.Context, msg *Message, ack AckFunc) {
	rd.in++
	lane := rd.lanes.lane(msg)
	mapper := rd.r.opts.Mapper
	if mapper == nil {
		rd.addSource(ctx, lane, rd.recs.next(ack, 1), msg)
		return
	}
	outs, err := mapper.Map(ctx, msg)
	switch {
	case err != nil && rd.stopsAtPoison:
		rd.r.countError(stageMap, err)
		rd.stopAt(msg, ack, err)
	case err != nil:
		rd.r.countError(stageMap, err)
		rec := rd.recs.next(ack, 1)
		rd.startBatch(ctx, lane)
		rd.cur[lane].sources++
		rd.cur[lane].addPoison(msg, rec, err)
	case len(outs) == 0:
		rd.filtered++
		if err := ack(rd.ackCtx, nil); err != nil {
			rd.ackFailed(err)
		}
	default:
		rd.addSource(ctx, lane, rd.recs.next(ack, len(outs)), outs...)
	}
}

// stopAt stops reading at a poison message that stops the runner: everything read before it
// is handed to the writers and written (or given up on) first, then the message is nacked
// and rd.poisoned set. Nothing read after it is written, since nothing more is read.
func (rd *reader) stopAt(msg *Message, ack AckFunc, reason error) {
	rd.flush()
	rd.queue.waitIdle()
	rd.poisoned = fmt.Errorf("%w: %s: %w", ErrPoisonMessage, msg.Origin(), reason)
	rd.r.c.nacked.Add(1)
	rd.r.m.nacked.Inc()
	if err := ack(rd.ackCtx, rd.poisoned); err != nil {
		rd.ackFailed(err)
	}
}

// addSource adds the outputs of one source message to lane, flushing the lane's batch
// whenever it is full.
func (rd *reader) addSource(ctx context.Context, lane int, rec *ackRecord, outs ...*Message) {
	opts := &rd.r.opts
	rd.cur[lane].sources++
	for _, m := range outs {
		if b := rd.cur[lane]; len(b.msgs) > 0 && b.bytes+messageBytes(m) > opts.BatchBytes {
			rd.flushLane(lane)
		}
		rd.startBatch(ctx, lane)
		b := rd.cur[lane]
		b.add(m, rec)
		if len(b.msgs) >= opts.BatchSize || b.bytes >= opts.BatchBytes {
			rd.flushLane(lane)
		}
	}
}

// startBatch records that lane's batch is about to receive an entry: it counts the lane as
// open if its batch was empty, and arms the linger deadline if every lane was empty.
func (rd *reader) startBatch(ctx context.Context, lane int) {
	if rd.cur[lane].empty() {
		rd.open++
	}
	if rd.linger == nil {
		rd.linger, rd.stopLinger = context.WithTimeout(ctx, rd.r.opts.Linger)
	}
}

// flush publishes the read counters and hands every lane's batch to the writers.
func (rd *reader) flush() {
	rd.publishCounts()
	for lane := range rd.cur {
		rd.flushLane(lane)
	}
	rd.disarmLinger()
}

// flushIdle publishes the read counters and hands the batch of every lane that has no batch
// queued or being written to the writers: the source has nothing more ready, so the batch
// would only wait for its linger. The batches of busy lanes go on filling while their writes
// are in flight; the next Read then also returns when a write ends (awaitRelease), so that
// they are flushed as soon as their lane is free, full, or at their linger.
func (rd *reader) flushIdle() {
	rd.publishCounts()
	rd.releasesSeen = rd.queue.releaseCount()
	rd.awaitRelease = false
	for lane, b := range rd.cur {
		switch {
		case b.empty():
		case rd.queue.laneIdle(lane):
			rd.flushLane(lane)
		default:
			rd.awaitRelease = true
		}
	}
}

// publishCounts adds the messages read and filtered since the last call to the counters.
func (rd *reader) publishCounts() {
	r := rd.r
	if rd.in > 0 {
		r.c.in.Add(uint64(rd.in))
		r.m.in.Add(float64(rd.in))
		rd.in = 0
	}
	if rd.filtered > 0 {
		r.c.filtered.Add(uint64(rd.filtered))
		r.m.filtered.Add(float64(rd.filtered))
		rd.filtered = 0
	}
}

func (rd *reader) disarmLinger() {
	if rd.linger != nil {
		rd.stopLinger()
		rd.linger, rd.stopLinger = nil, nil
	}
}

// flushLane hands lane's batch to the writers, blocking while the queue is full. If the
// writers have stopped, the batch is nacked instead.
func (rd *reader) flushLane(lane int) {
	r := rd.r
	b := rd.cur[lane]
	if b.empty() {
		return
	}
	if rd.open--; rd.open == 0 {
		rd.disarmLinger()
	}
	r.c.inFlight.Add(int64(b.sources))
	r.m.inFlight.Add(float64(b.sources))
	if rd.queue.put(b) {
		rd.cur[lane] = rd.pool.get()
		rd.cur[lane].lane = lane
		return
	}
	rd.nackBatch(b, ErrStopped)
	b.reset()
	b.lane = lane
}

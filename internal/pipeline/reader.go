package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/seabridge/seabridge/internal/backoff"
)

// reader is the state of the reader goroutine: the batch being filled and its linger context.
type reader struct {
	*flow
	cur        *batch
	linger     context.Context // done Linger after cur's first message; nil while cur is empty
	stopLinger context.CancelFunc
	in         int // source messages read since the last flush
	filtered   int
	// reconnected: the source was reconnected and has not returned a message since.
	reconnected bool
}

// read reads, maps and batches until ctx is done or the source fails fatally. Once ctx is
// done it reads no more, except from an IntakeStopper, which it drains within drainCtx (the
// shutdown budget). It flushes its partial batch and closes f.batches before returning.
func (f *flow) read(ctx, drainCtx context.Context) error {
	rd := &reader{flow: f, cur: f.pool.get()}
	defer close(f.batches)
	defer rd.flush()
	src := f.r.opts.Source
	bo := backoff.New(f.r.opts.Retry)
	for ctx.Err() == nil {
		readCtx := ctx
		if rd.linger != nil {
			readCtx = rd.linger
		}
		msg, ack, err := src.Read(readCtx)
		if err == nil {
			bo.Reset()
			rd.reconnected = false
			rd.accept(ctx, msg, ack)
			continue
		}
		if ctx.Err() != nil {
			break
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
		readCtx := ctx
		if rd.linger != nil {
			readCtx = rd.linger // a batch started before the shutdown lingers on the run context
		}
		msg, ack, err := src.Read(readCtx)
		switch {
		case err == nil:
			rd.accept(ctx, msg, ack)
		case readCtx != ctx && readCtx.Err() != nil:
			rd.flush() // linger expired: the source may hold back more until these are acked
		default:
			if !errors.Is(err, ErrDrained) && ctx.Err() == nil {
				rd.r.countError(stageSource)
				rd.r.log.Warn("reading what the source received stopped early", "err", err)
			}
			return
		}
	}
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
		r.countError(stageSource)
		r.countRetry()
		r.log.Warn("read failed, retrying", "attempt", bo.Attempt()+1, "err", err)
		return bo.Wait(ctx)
	}
}

// accept maps one source message and adds its outputs to the current batch.
func (rd *reader) accept(ctx context.Context, msg *Message, ack AckFunc) {
	rd.in++
	mapper := rd.r.opts.Mapper
	if mapper == nil {
		rd.addSource(ctx, newAckRecord(ack, 1), msg)
		return
	}
	outs, err := mapper.Map(ctx, msg)
	switch {
	case err != nil:
		rd.r.countError(stageMap)
		rec := newAckRecord(ack, 1)
		rd.startBatch(ctx)
		rd.cur.sources++
		rd.cur.addPoison(msg, rec, err)
	case len(outs) == 0:
		rd.filtered++
		if err := ack(rd.ackCtx, nil); err != nil {
			rd.ackFailed(err)
		}
	default:
		rd.addSource(ctx, newAckRecord(ack, len(outs)), outs...)
	}
}

// addSource adds the outputs of one source message, flushing whenever the batch is full.
func (rd *reader) addSource(ctx context.Context, rec *ackRecord, outs ...*Message) {
	opts := &rd.r.opts
	rd.cur.sources++
	for _, m := range outs {
		if len(rd.cur.msgs) > 0 && rd.cur.bytes+messageBytes(m) > opts.BatchBytes {
			rd.flush()
		}
		rd.startBatch(ctx)
		rd.cur.add(m, rec)
		if len(rd.cur.msgs) >= opts.BatchSize || rd.cur.bytes >= opts.BatchBytes {
			rd.flush()
		}
	}
}

// startBatch arms the linger deadline when the current batch receives its first entry.
func (rd *reader) startBatch(ctx context.Context) {
	if rd.linger == nil {
		rd.linger, rd.stopLinger = context.WithTimeout(ctx, rd.r.opts.Linger)
	}
}

// flush publishes the read counters and hands the current batch to the writer, blocking
// while the queue is full. If the writer has stopped, the batch is nacked instead.
func (rd *reader) flush() {
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
	if rd.linger != nil {
		rd.stopLinger()
		rd.linger, rd.stopLinger = nil, nil
	}
	b := rd.cur
	if b.empty() {
		return
	}
	r.c.inFlight.Add(int64(b.sources))
	r.m.inFlight.Add(float64(b.sources))
	select {
	case rd.batches <- b:
		rd.cur = rd.pool.get()
	case <-rd.writerDone:
		rd.nackBatch(b, ErrStopped)
		b.reset()
	}
}

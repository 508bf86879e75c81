package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seabridge/seabridge/internal/backoff"
)

// write is one writer goroutine: it delivers the batches it takes from the queue until the
// queue is closed and empty (nil) or a batch fails fatally; then it stops the queue and the
// other writers' writes. Batches of one lane are taken in order and one at a time. Once ctx is
// done (the shutdown budget expired) it nacks what is left.
func (f *flow) write(ctx context.Context) error {
	for {
		b, ok := f.queue.take()
		if !ok {
			return nil
		}
		err := error(nil)
		if ctx.Err() == nil {
			err = f.deliver(ctx, b)
		}
		switch {
		case ctx.Err() != nil:
			f.shutdownNacked.Add(int64(f.nackBatch(b, ErrShutdownTimeout)))
		case err != nil:
			// Stop the queue before freeing b's lane: a writer waiting in take would
			// otherwise take the lane's next batch, which, after a poison message that
			// stops the runner, must never be written.
			f.queue.stop()
			f.abortWrite()
			f.nackBatch(b, err)
			f.queue.release(b)
			return err
		}
		f.queue.release(b)
		f.pool.put(b)
	}
}

// deliver writes b to the sink (retrying), acks what was written, and routes the rejected
// and the mapper's poison messages. An error means b could not be completed; the caller
// nacks what is unsettled.
func (f *flow) deliver(ctx context.Context, b *batch) error {
	var rejected map[int]error
	if len(b.msgs) > 0 {
		err := f.writeSink(ctx, b.msgs)
		var pe *PoisonError
		switch {
		case errors.As(err, &pe):
			rejected = pe.Errs
		case err != nil:
			return err
		}
		upTo := len(b.msgs)
		if f.prefixWriter != nil && len(rejected) > 0 {
			upTo, rejected = firstRejected(rejected)
		}
		f.written(b, upTo, rejected)
	}
	if len(rejected) == 0 && len(b.poison) == 0 {
		return nil
	}
	f.dlMu.Lock()
	defer f.dlMu.Unlock()
	f.collectPoison(b, rejected)
	return f.routePoison(ctx)
}

// writeSink calls Sink.Write with the same batch until it succeeds, returns a *PoisonError,
// fails fatally, or ctx is done. A lost connection is reconnected at once the first time; when
// it is lost again before the batch is written, the reconnect waits for the backoff too.
func (f *flow) writeSink(ctx context.Context, msgs []*Message) error {
	r := f.r
	bo := backoff.New(r.opts.Retry)
	reconnected := false
	failing := false // counted in r.retrying until the batch is written or given up
	for {
		gen := f.sinkGen.Load()
		start := time.Now()
		var err error
		if f.prefixWriter != nil {
			err = f.prefixWriter.WritePrefix(ctx, msgs)
		} else {
			err = r.opts.Sink.Write(ctx, msgs)
		}
		r.m.writeDuration.Observe(time.Since(start).Seconds())
		var pe *PoisonError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &pe):
			return pe
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, ErrFatal):
			return fmt.Errorf("write: %w", err)
		case errors.Is(err, ErrNotConnected):
			if reconnected {
				if err := bo.Wait(ctx); err != nil {
					return err
				}
			}
			reconnected = true
			if err := f.reconnectSink(ctx, gen, err); err != nil {
				return err
			}
		default:
			r.countError(stageSink, err) // before the state says retrying, so that it shows this error
			if !failing {
				failing = true
				r.retrying.Add(1)
				defer r.retrying.Add(-1)
			}
			r.log.Warn("write failed, retrying the same batch", "attempt", bo.Attempt()+1,
				"messages", len(msgs), "err", err)
			if err := waitRetry(ctx, bo, err); err != nil {
				return err
			}
		}
		r.countRetry()
	}
}

// reconnectSink connects the sink again after a write that started at reconnect generation
// gen found it not connected, unless another writer reconnected it since.
func (f *flow) reconnectSink(ctx context.Context, gen uint64, cause error) error {
	f.sinkMu.Lock()
	defer f.sinkMu.Unlock()
	if f.sinkGen.Load() != gen {
		return nil
	}
	r := f.r
	if err := r.reconnect(ctx, sideSink, r.opts.Sink.Connect, cause); err != nil {
		return err
	}
	f.sinkGen.Add(1)
	return nil
}

// firstRejected reduces the rejects of a WritePrefix to the first one, before which
// everything was written.
func firstRejected(rejected map[int]error) (int, map[int]error) {
	first := -1
	for i := range rejected {
		if first < 0 || i < first {
			first = i
		}
	}
	return first, map[int]error{first: rejected[first]}
}

// written records the messages of b before index upTo that the sink accepted (all but
// rejected) and acks them. Those from upTo on were not written; the caller settles them.
func (f *flow) written(b *batch, upTo int, rejected map[int]error) {
	r := f.r
	now := time.Now()
	out, settled := 0, 0
	var ackErr error
	for i, m := range b.msgs[:upTo] {
		if _, bad := rejected[i]; bad {
			continue
		}
		out++
		if !m.ReceivedAt.IsZero() {
			r.m.latency.Observe(now.Sub(m.ReceivedAt).Seconds())
		}
		ok, err := b.recs[i].done(f.ackCtx)
		if ok {
			settled++
		}
		if err != nil {
			ackErr = err
		}
	}
	r.m.batchSize.Observe(float64(upTo))
	r.c.out.Add(uint64(out))
	r.m.out.Add(float64(out))
	f.settled(settled)
	if ackErr != nil {
		f.ackFailed(ackErr)
	}
}

// collectPoison fills the dead-letter slices with the sink's rejects and the mapper's poison.
// The caller holds dlMu until routePoison has returned.
func (f *flow) collectPoison(b *batch, rejected map[int]error) {
	f.dlMsgs, f.dlReasons, f.dlRecs = f.dlMsgs[:0], f.dlReasons[:0], f.dlRecs[:0]
	for i := 0; i < len(b.msgs) && len(rejected) > 0; i++ {
		reason, bad := rejected[i]
		if !bad {
			continue
		}
		f.dlMsgs = append(f.dlMsgs, b.msgs[i])
		f.dlReasons = append(f.dlReasons, reason)
		f.dlRecs = append(f.dlRecs, b.recs[i])
	}
	for _, p := range b.poison {
		f.dlMsgs = append(f.dlMsgs, p.msg)
		f.dlReasons = append(f.dlReasons, p.reason)
		f.dlRecs = append(f.dlRecs, p.rec)
	}
}

// routePoison sends the collected poison messages to the dead-letter destination, or drops
// them, or stops, and acks them when handled.
func (f *flow) routePoison(ctx context.Context) error {
	r := f.r
	defer func() {
		clear(f.dlMsgs)
		clear(f.dlReasons)
		clear(f.dlRecs)
	}()
	n := len(f.dlMsgs)
	switch {
	case n == 0:
		return nil
	case r.opts.DeadLetter != nil:
		if err := f.deadLetter(ctx); err != nil {
			return err
		}
		r.c.deadLettered.Add(uint64(n))
		r.m.deadLettered.Add(float64(n))
	case r.opts.OnPoison == OnPoisonDrop:
		for i, m := range f.dlMsgs {
			r.log.Warn("dropping poison message", "message", m.Origin(), "reason", f.dlReasons[i])
		}
		r.c.dropped.Add(uint64(n))
		r.m.dropped.Add(float64(n))
	default:
		return fmt.Errorf("%w: %s: %w", ErrPoisonMessage, f.dlMsgs[0].Origin(), f.dlReasons[0])
	}
	settled := 0
	for _, rec := range f.dlRecs {
		ok, err := rec.done(f.ackCtx)
		if ok {
			settled++
		}
		if err != nil {
			f.ackFailed(err)
		}
	}
	f.settled(settled)
	return nil
}

// deadLetter calls DeadLetter until it succeeds, refuses messages for good (a *PoisonError:
// ErrDeadLetterRefused), fails fatally, or ctx is done.
func (f *flow) deadLetter(ctx context.Context) error {
	r := f.r
	bo := backoff.New(r.opts.Retry)
	failing := false
	for {
		err := r.opts.DeadLetter.DeadLetter(ctx, f.dlMsgs, f.dlReasons)
		var refused *PoisonError
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &refused):
			return f.deadLetterRefused(refused)
		case errors.Is(err, ErrFatal):
			return fmt.Errorf("dead-letter: %w", err)
		}
		r.countError(stageDeadLetter, err) // before the state says retrying, so that it shows this error
		if !failing {
			failing = true
			r.retrying.Add(1)
			defer r.retrying.Add(-1)
		}
		r.countRetry()
		r.log.Warn("dead-lettering failed, retrying", "attempt", bo.Attempt()+1,
			"messages", len(f.dlMsgs), "err", err)
		if err := bo.Wait(ctx); err != nil {
			return err
		}
	}
}

// deadLetterRefused is the error of a dead-letter destination that can never take some
// messages: it names the first of them and its reason.
func (f *flow) deadLetterRefused(refused *PoisonError) error {
	first := -1
	for i := range refused.Errs {
		if first < 0 || i < first {
			first = i
		}
	}
	if first < 0 || first >= len(f.dlMsgs) {
		return fmt.Errorf("%w: %w", ErrDeadLetterRefused, refused)
	}
	return fmt.Errorf("%w: %d message(s), the first %s (poison because: %w): %w", ErrDeadLetterRefused,
		len(refused.Errs), f.dlMsgs[first].Origin(), f.dlReasons[first], refused.Errs[first])
}

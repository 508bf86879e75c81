package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
)

// flow is the state shared by one Run's reader and writer goroutines.
type flow struct {
	r          *Runner
	queue      *writeQueue   // reader -> writers; closed by the reader when it stops
	writers    int           // writer goroutines, MaxInFlightWrites
	writerDone chan struct{} // closed when every writer has stopped
	pool       *batchPool
	ackCtx     context.Context // never cancelled: acks and nacks must reach the source
	abortWrite func()          // cancels the writers' context: one of them failed fatally
	// stopsAtPoison: a poison message stops the runner (OnPoisonStop, no DeadLetter), so
	// nothing after it may be written. prefixWriter is then the sink's WritePrefix, if any.
	stopsAtPoison bool
	prefixWriter  PrefixWriter

	// sinkMu serialises reconnecting the sink; sinkGen counts the reconnects, so that a
	// writer whose write failed during another writer's reconnect does not reconnect again.
	sinkMu  sync.Mutex
	sinkGen atomic.Uint64

	// dlMu serialises the dead-letter path (the DeadLetter is never called concurrently)
	// and guards its scratch slices.
	dlMu      sync.Mutex
	dlMsgs    []*Message
	dlReasons []error
	dlRecs    []*ackRecord

	shutdownNacked atomic.Int64
}

func newFlow(r *Runner, ackCtx context.Context, abortWrite func()) *flow {
	writers := r.opts.MaxInFlightWrites
	lanes := laneCount(writers)
	queued := r.opts.MaxInFlightBatches * writers
	stops := r.opts.DeadLetter == nil && r.opts.OnPoison == OnPoisonStop
	var pw PrefixWriter
	if stops {
		pw, _ = r.opts.Sink.(PrefixWriter)
	}
	return &flow{
		r:             r,
		stopsAtPoison: stops,
		prefixWriter:  pw,
		queue:         newWriteQueue(lanes, queued),
		writers:       writers,
		writerDone:    make(chan struct{}),
		pool:          newBatchPool(lanes+queued+writers+2, r.opts.BatchSize),
		ackCtx:        ackCtx,
		abortWrite:    abortWrite,
	}
}

// nackBatch nacks every unsettled source message of b with cause and returns how many it nacked.
func (f *flow) nackBatch(b *batch, cause error) int {
	n := 0
	for _, rec := range b.recs {
		n += f.fail(rec, cause)
	}
	for _, p := range b.poison {
		n += f.fail(p.rec, cause)
	}
	return n
}

func (f *flow) fail(rec *ackRecord, cause error) int {
	settled, err := rec.fail(f.ackCtx, cause)
	if !settled {
		return 0
	}
	f.settled(1)
	f.r.c.nacked.Add(1)
	f.r.m.nacked.Inc()
	if err != nil {
		f.ackFailed(err)
	}
	return 1
}

// settled records n source messages leaving the in-flight set.
func (f *flow) settled(n int) {
	f.r.c.inFlight.Add(int64(-n))
	f.r.m.inFlight.Sub(float64(n))
}

func (f *flow) ackFailed(err error) {
	f.r.countError(stageSource, err)
	f.r.log.Warn("source failed to record an ack", "err", err)
}

// nackQueued nacks the batches left in the queue once the reader and the writers have
// stopped (a writer stopped early on a fatal error).
func (f *flow) nackQueued(cause error) {
	for _, b := range f.queue.drain() {
		f.nackBatch(b, cause)
	}
}

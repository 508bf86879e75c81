package pipeline

import "context"

// flow is the state shared by one Run's reader and writer goroutines.
type flow struct {
	r          *Runner
	batches    chan *batch   // reader -> writer, FIFO; closed by the reader when it stops
	writerDone chan struct{} // closed when the writer stops
	pool       *batchPool
	ackCtx     context.Context // never cancelled: acks and nacks must reach the source

	// Writer-owned.
	dlMsgs         []*Message
	dlReasons      []error
	dlRecs         []*ackRecord
	shutdownNacked int
}

func newFlow(r *Runner, ackCtx context.Context) *flow {
	n := r.opts.MaxInFlightBatches
	return &flow{
		r:          r,
		batches:    make(chan *batch, n),
		writerDone: make(chan struct{}),
		pool:       newBatchPool(n+2, r.opts.BatchSize),
		ackCtx:     ackCtx,
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
	f.r.countError(stageSource)
	f.r.log.Warn("source failed to record an ack", "err", err)
}

// nackQueued nacks the batches left in the channel once both goroutines have stopped (the
// writer stopped early on a fatal error).
func (f *flow) nackQueued(cause error) {
	for b := range f.batches {
		f.nackBatch(b, cause)
	}
}

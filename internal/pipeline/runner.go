package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seabridge/seabridge/internal/backoff"
)

// Runner moves messages from one Source through an optional Mapper to one Sink. See the
// package documentation for the contract. A Runner runs once.
type Runner struct {
	opts    Options
	log     *slog.Logger
	m       runnerMetrics
	c       counters
	started atomic.Bool

	connMu   sync.Mutex // serialises connection-state updates so that up matches Ready
	sourceUp bool
	sinkUp   bool
	ready    atomic.Bool
	// sourceReady is sourceUp, for the readiness of a DurableSource.
	sourceReady atomic.Bool

	status runnerStatus
	// retrying counts the retry loops (connect, read, write, dead-letter write) that are
	// between a failure and the next success.
	retrying atomic.Int32
}

// NewRunner checks opts, applies defaults and returns a Runner ready to Run. Errors wrap
// ErrInvalidOptions.
func NewRunner(opts Options) (*Runner, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return &Runner{
		opts: opts,
		log:  opts.Logger.With("pipeline", opts.Name, "direction", opts.Direction),
		m:    opts.Metrics.forRunner(opts.Name, opts.Direction),
	}, nil
}

// Ready reports whether both the source and the sink are connected; for a DurableSource,
// whether the source is. Safe for concurrent use.
func (r *Runner) Ready() bool {
	if isDurable(r.opts.Source) {
		return r.sourceReady.Load() && reportsConnected(r.opts.Source)
	}
	return r.ready.Load() && reportsConnected(r.opts.Source) && reportsConnected(r.opts.Sink)
}

// undelivered is what the source reports as received and never handed over.
func (r *Runner) undelivered() uint64 {
	if u, ok := r.opts.Source.(UndeliveredReporter); ok {
		return u.Undelivered()
	}
	return 0
}

// isDurable reports whether v is a DurableSource that is durable.
func isDurable(v any) bool {
	d, ok := v.(DurableSource)
	return ok && d.Durable()
}

// reportsConnected is false only for a ConnectionReporter whose connection is down.
func reportsConnected(v any) bool {
	c, ok := v.(ConnectionReporter)
	return !ok || c.Connected()
}

// Stats returns a snapshot of the runner's counters. Safe for concurrent use.
func (r *Runner) Stats() Stats {
	s := r.c.snapshot()
	s.Ready = r.Ready()
	s.Undelivered = r.undelivered()
	return s
}

// Run connects the dead-letter destination (when it is a DeadLetterConnector), the sink,
// then the source (a DurableSource before the others), and moves messages until ctx is done or a fatal
// error occurs (a FailureNotifier's failure too, whatever the sink is doing). On ctx
// cancellation it stops reading, writes everything already read within
// the shutdown budget, nacks what is left, closes the source and then the sink, and returns
// nil if nothing was given up on. Otherwise it returns every reason it stopped, joined: the
// fatal error (wrapping ErrFatal or ErrPoisonMessage), ErrShutdownTimeout with the number of
// messages nacked (not for a DurableSource, which keeps them), ErrUndelivered with the number
// the source received and never handed over, errors of closing (not a write given up on, for
// a DurableSource). No goroutine started by Run outlives it.
func (r *Runner) Run(ctx context.Context) error {
	if !r.started.CompareAndSwap(false, true) {
		return fmt.Errorf("pipeline %q: %w", r.opts.Name, ErrAlreadyStarted)
	}
	r.m.running.Set(1)
	defer r.m.running.Set(0)
	r.status.phase.Store(phaseRunning)
	stop := context.AfterFunc(ctx, func() { r.status.phase.CompareAndSwap(phaseRunning, phaseStopping) })
	defer stop()
	runErr := r.run(ctx)
	if runErr != nil {
		r.status.note(runErr)
		r.status.failed.Store(stoppedByItself(ctx, runErr))
	}
	err := errors.Join(runErr, r.close(ctx))
	if n := r.undelivered(); n > 0 {
		err = errors.Join(err, fmt.Errorf("%d message(s) %w", n, ErrUndelivered))
	}
	r.status.phase.Store(phaseDone)
	if err != nil {
		return fmt.Errorf("pipeline %q: %w", r.opts.Name, err)
	}
	return nil
}

func (r *Runner) run(ctx context.Context) error {
	type side struct {
		name    string
		connect func(context.Context) error
	}
	var sides []side
	if dl, ok := r.opts.DeadLetter.(DeadLetterConnector); ok {
		sides = append(sides, side{stageDeadLetter, dl.Connect})
	}
	sides = append(sides, side{sideSink, r.opts.Sink.Connect}, side{sideSource, r.opts.Source.Connect})
	if isDurable(r.opts.Source) { // the source first: it receives while the others connect
		sides = append([]side{sides[len(sides)-1]}, sides[:len(sides)-1]...)
	}
	connCtx, stop := r.untilSourceFails(ctx)
	defer stop()
	for _, s := range sides {
		if err := r.connect(connCtx, s.name, s.connect); err != nil {
			if failure := r.sourceFailure(); failure != nil && ctx.Err() == nil && errors.Is(err, context.Canceled) {
				return fmt.Errorf("source: %w", failure) // it ended the connecting
			}
			return ignoreCancel(ctx, err)
		}
	}
	return r.pump(ctx)
}

// sourceFailure is the source's fatal failure, when it is a FailureNotifier that failed.
func (r *Runner) sourceFailure() error {
	select {
	case <-r.sourceFailed(): // nil, never ready, unless the source is a FailureNotifier
		return r.opts.Source.(FailureNotifier).Failure()
	default:
		return nil
	}
}

// sourceFailed is the channel of a FailureNotifier source, else nil (never ready).
func (r *Runner) sourceFailed() <-chan struct{} {
	if fn, ok := r.opts.Source.(FailureNotifier); ok {
		return fn.Failed()
	}
	return nil
}

// untilSourceFails returns a context that is done when ctx is, or when the source fails
// (FailureNotifier); stop releases it and waits for its goroutine.
func (r *Runner) untilSourceFails(ctx context.Context) (context.Context, func()) {
	failed := r.sourceFailed()
	if failed == nil {
		return ctx, func() {}
	}
	c, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-failed:
			cancel()
		case <-c.Done():
		}
	}()
	return c, func() {
		cancel()
		<-done
	}
}

// ignoreCancel turns the error of a loop that stopped because ctx was cancelled into nil.
func ignoreCancel(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil
	}
	return err
}

// pump runs the reader and the writer until ctx is done or one of them stops, then drains
// within the shutdown budget.
func (r *Runner) pump(ctx context.Context) error {
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	drainCtx, stopDraining := context.WithCancel(context.WithoutCancel(ctx))
	defer stopDraining()
	writeCtx, stopWriting := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWriting()
	f := newFlow(r, context.WithoutCancel(ctx), stopWriting)

	readerDone := make(chan struct{})
	var readErr error
	writeErrs := make([]error, f.writers)
	go func() {
		defer close(readerDone)
		readErr = f.read(readCtx, drainCtx)
	}()
	var writers sync.WaitGroup
	for i := range writeErrs {
		writers.Go(func() { writeErrs[i] = f.write(writeCtx) })
	}
	go func() {
		writers.Wait()
		close(f.writerDone)
	}()

	select {
	case <-ctx.Done():
	case <-readerDone:
	case <-f.writerDone:
	case <-r.sourceFailed(): // the reader may be waiting for the writers, which retry
	}
	stopReading()
	budget := time.NewTimer(r.opts.ShutdownTimeout)
	defer budget.Stop()
	select {
	case <-f.writerDone:
	case <-budget.C:
		stopDraining()
		stopWriting()
		<-f.writerDone
	}
	<-readerDone
	f.nackQueued(ErrStopped)

	errs := append(writeErrs, readErr)
	if failure := r.sourceFailure(); failure != nil && !errors.Is(readErr, failure) {
		errs = append(errs, fmt.Errorf("source: %w", failure))
	}
	err := errors.Join(errs...)
	if n := f.shutdownNacked.Load(); n > 0 && err == nil && !isDurable(r.opts.Source) {
		err = fmt.Errorf("%w after %v: %d message(s) nacked", ErrShutdownTimeout, r.opts.ShutdownTimeout, n)
	}
	return err
}

// connect calls connectFn until it succeeds, fails with ErrFatal, or ctx is done (ctx.Err()).
func (r *Runner) connect(ctx context.Context, side string, connectFn func(context.Context) error) error {
	bo := backoff.New(r.opts.Retry)
	failing := false // counted in r.retrying until connected or given up
	defer func() {
		if failing {
			r.retrying.Add(-1)
		}
	}()
	for {
		err := connectFn(ctx)
		if err == nil {
			if failing { // not retrying any more by the time the side is up
				failing = false
				r.retrying.Add(-1)
			}
			r.setUp(side, true)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrFatal) {
			return fmt.Errorf("connect %s: %w", side, err)
		}
		r.countError(side, err) // before the state says retrying, so that it shows this error
		if !failing {
			failing = true
			r.retrying.Add(1)
		}
		r.countRetry()
		r.log.Warn("connect failed, retrying", "side", side, "attempt", bo.Attempt()+1, "err", err)
		if err := waitRetry(ctx, bo, err); err != nil {
			return err
		}
	}
}

// reconnect records a lost connection on side and connects again.
func (r *Runner) reconnect(ctx context.Context, side string, connectFn func(context.Context) error, cause error) error {
	r.countError(side, cause) // before the state says retrying, so that it shows this error
	r.setUp(side, false)
	r.c.reconnects.Add(1)
	if side == sideSource {
		r.m.reconnectSource.Inc()
	} else {
		r.m.reconnectSink.Inc()
	}
	r.log.Warn("connection lost, reconnecting", "side", side, "err", cause)
	return r.connect(ctx, side, connectFn)
}

func (r *Runner) close(ctx context.Context) error {
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.ShutdownTimeout)
	defer cancel()
	var errs []error
	if err := r.opts.Source.Close(closeCtx); err != nil {
		errs = append(errs, fmt.Errorf("close source: %w", err))
	}
	r.setUp(sideSource, false)
	errs = append(errs, r.closeWriter("sink", r.opts.Sink.Close(closeCtx)))
	r.setUp(sideSink, false)
	if dl, ok := r.opts.DeadLetter.(DeadLetterConnector); ok {
		errs = append(errs, r.closeWriter("dead-letter destination", dl.Close(closeCtx)))
	}
	return errors.Join(errs...)
}

// closeWriter is the error of closing the sink or the dead-letter destination, what: a write
// given up on (ErrWriteAbandoned) is none for a DurableSource, which keeps its messages (they
// were nacked), only a warning.
func (r *Runner) closeWriter(what string, err error) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf("close %s: %w", what, err)
	if errors.Is(err, ErrWriteAbandoned) && isDurable(r.opts.Source) {
		r.log.Warn("gave up on a write in flight at close; its messages stay with the source, which hands them out again at the next start",
			"err", err)
		return nil
	}
	return err
}

// setUp records whether side's connection is up; readiness needs the source and the sink.
// The dead-letter destination is connected before either, so it needs no flag of its own.
func (r *Runner) setUp(side string, up bool) {
	if side != sideSource && side != sideSink {
		return
	}
	r.connMu.Lock()
	defer r.connMu.Unlock()
	if side == sideSource {
		r.sourceUp = up
	} else {
		r.sinkUp = up
	}
	ready := r.sourceUp && r.sinkUp
	r.ready.Store(ready)
	if ready {
		r.status.everReady.Store(true)
	}
	r.sourceReady.Store(r.sourceUp)
	if ready {
		r.m.up.Set(1)
	} else {
		r.m.up.Set(0)
	}
}

// countError counts err, an error of stage, and records it as the runner's last error.
func (r *Runner) countError(stage string, err error) {
	r.c.errors.Add(1)
	r.status.note(fmt.Errorf("%s: %w", stage, err))
	switch stage {
	case stageSource:
		r.m.errSource.Inc()
	case stageMap:
		r.m.errMap.Inc()
	case stageSink:
		r.m.errSink.Inc()
	case stageDeadLetter:
		r.m.errDeadLetter.Inc()
	}
}

func (r *Runner) countRetry() {
	r.c.retries.Add(1)
	r.m.retries.Inc()
}

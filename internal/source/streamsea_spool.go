package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seabridge/seabridge/internal/backoff"
	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/spool"
)

// intakeBatch bounds the messages appended to the spool in one write: what the subscriber
// has queued, up to this many or intakeBatchBytes.
const (
	intakeBatch      = 256
	intakeBatchBytes = 1 << 20
)

// SpooledStreamSeaOptions configures a stream-sea source with a spool.
type SpooledStreamSeaOptions struct {
	Pipeline string
	Spool    spool.Options
	// Retry paces retries of a failed append (a disk error) and of reconnects after the
	// websocket source reported it was not connected.
	Retry backoff.Policy
	// DrainFor is how long, after StopIntake, Read goes on handing out spooled records before
	// it reports pipeline.ErrDrained (it does sooner once the spool is read to its end). What is
	// left stays in the spool for the next start.
	DrainFor time.Duration
}

// SpooledStreamSea is a stream-sea source whose received messages go through a durable spool:
// an intake goroutine reads the websocket source at full speed and appends each message to the
// spool before acking it there (which lets the websocket be read on), and Read hands out the
// spooled records in order. An ack advances the spool's cursor; a nack leaves the record in
// the spool, to be handed out again when the spool is next opened. While the sink cannot
// write, the websocket is still read, into the spool, until the spool is full (its when_full
// policy then decides); stream-sea sees a slow subscriber only then.
//
// It is a pipeline.DurableSource: the runner connects it before the sink, and Connect returns
// once the spool is open, with the websocket connecting in the background, so that a bridge
// that starts while Kafka is unreachable subscribes at once. A fatal error of the websocket
// (credentials, a refused subscription) is reported at once (pipeline.FailureNotifier), which
// stops the pipeline whatever its sink is doing, and returned by Read. A message counts as
// received (seabridge_streamsea_received_messages_total) once it is in the spool. At
// shutdown, StopIntake closes the websocket and appends what it had received; Read then hands
// out spooled records for DrainFor at most. Close stops the intake, closes the websocket source (which counts what it
// received and could not spool as undelivered) and the spool; Left then says how many records
// stay in it for the next start.
//
// Connect, Read and Close may be called from different goroutines; Read is not called
// concurrently with itself. AckFuncs may be called from any goroutine.
type SpooledStreamSea struct {
	opts    SpooledStreamSeaOptions
	inner   *StreamSea
	log     *slog.Logger
	metrics *spool.Metrics

	mu       sync.Mutex
	sp       *spool.Spool // nil until Connect
	closed   bool
	drainEnd time.Time // set by StopIntake

	intakeCtx    context.Context
	stopIntake   context.CancelFunc
	intakeDone   chan struct{}
	wake         context.Context // done when the intake ended: Read must not wait on the spool
	wakeReaders  context.CancelFunc
	fatal        atomic.Pointer[error]
	failed       chan struct{} // closed once fatal is set
	drainStarted atomic.Bool
	left         atomic.Int64 // records in the spool when it closed
	closeOnce    sync.Once
	closeErr     error
}

var (
	_ pipeline.Source              = (*SpooledStreamSea)(nil)
	_ pipeline.IntakeStopper       = (*SpooledStreamSea)(nil)
	_ pipeline.ConnectionReporter  = (*SpooledStreamSea)(nil)
	_ pipeline.DurableSource       = (*SpooledStreamSea)(nil)
	_ pipeline.UndeliveredReporter = (*SpooledStreamSea)(nil)
	_ pipeline.FailureNotifier     = (*SpooledStreamSea)(nil)
)

// NewSpooledStreamSea wraps inner, an unconnected stream-sea source, with the spool of opts.
// m may be nil.
func NewSpooledStreamSea(inner *StreamSea, opts SpooledStreamSeaOptions, logger *slog.Logger, m *spool.Metrics) *SpooledStreamSea {
	opts.Spool.Name = opts.Pipeline
	inner.receivedWhenSpooled = true
	opts.Spool.OnAppended = inner.countReceived // a message is received once it is in the spool
	ictx, cancel := context.WithCancel(context.Background())
	wake, wakeReaders := context.WithCancel(context.Background())
	return &SpooledStreamSea{
		opts: opts, inner: inner, log: logger.With("pipeline", opts.Pipeline), metrics: m,
		intakeCtx: ictx, stopIntake: cancel, intakeDone: make(chan struct{}),
		wake: wake, wakeReaders: wakeReaders, failed: make(chan struct{}),
	}
}

// Undelivered is the number of messages received from the websocket and lost before they
// reached the pipeline: those the intake still held when Close stopped it (the spool full
// with when_full = "block", or failing), and those the spool dropped (when_full, max_age, too
// large) or lost to damage since it opened. Final once Close returned.
func (s *SpooledStreamSea) Undelivered() uint64 {
	n := s.inner.Undelivered()
	s.mu.Lock()
	sp := s.sp
	s.mu.Unlock()
	if sp != nil {
		st := sp.Stats()
		n += uint64(st.Dropped + st.Corrupt)
	}
	return n
}

// Left is the number of records the spool held, not yet written to Kafka, when it closed
// (messages nacked at shutdown included): they are handed out at the next start. 0 before
// Close.
func (s *SpooledStreamSea) Left() uint64 { return uint64(s.left.Load()) }

// Failed is closed once the websocket source failed fatally; Failure then says why.
func (s *SpooledStreamSea) Failed() <-chan struct{} { return s.failed }

// Failure is the websocket source's fatal error, wrapping pipeline.ErrFatal, or nil.
func (s *SpooledStreamSea) Failure() error { return s.fatalErr() }

// Durable reports true: what is received is kept in the spool.
func (s *SpooledStreamSea) Durable() bool { return true }

// Connected reports whether the websocket is connected and subscribed.
func (s *SpooledStreamSea) Connected() bool { return s.inner.Connected() }

// Connect opens the spool and starts the intake; it does not wait for the websocket. An error
// opening the spool (its directory locked by another process, not writable, unreadable) is
// fatal. Connect on a connected source returns nil, or the intake's fatal error.
func (s *SpooledStreamSea) Connect(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("stream-sea source %q: %w", s.opts.Pipeline, ErrStreamSeaClosed)
	}
	if err := s.fatalErr(); err != nil {
		return err
	}
	if s.sp != nil {
		return nil
	}
	sp, err := spool.Open(s.opts.Spool, s.log, s.metrics)
	if err != nil {
		return fmt.Errorf("stream-sea source %q: %w: %w", s.opts.Pipeline, pipeline.ErrFatal, err)
	}
	s.sp = sp
	go s.intake()
	return nil
}

func (s *SpooledStreamSea) fatalErr() error {
	if p := s.fatal.Load(); p != nil {
		return *p
	}
	return nil
}

// intake connects the websocket source and appends what it receives to the spool until the
// intake is stopped (StopIntake, then everything received is appended) or cancelled (Close).
func (s *SpooledStreamSea) intake() {
	defer close(s.intakeDone)
	defer s.wakeReaders()
	ctx := s.intakeCtx
	if err := s.inner.Connect(ctx); err != nil {
		s.intakeFailed(ctx, err)
		return
	}
	bo := backoff.New(s.opts.Retry)
	msgs := make([]*pipeline.Message, 0, intakeBatch)
	acks := make([]pipeline.AckFunc, 0, intakeBatch)
	recs := make([][]byte, 0, intakeBatch)
	var arena []byte // the encoded batch; recs are slices of it, valid until the next batch
	for {
		msg, ack, err := s.inner.Read(ctx)
		if err != nil {
			if errors.Is(err, pipeline.ErrNotConnected) && !errors.Is(err, ErrStreamSeaClosed) {
				if err = bo.Wait(ctx); err == nil {
					err = s.inner.Connect(ctx)
				}
				if err == nil {
					continue
				}
			}
			s.intakeFailed(ctx, err)
			return
		}
		msgs, acks = append(msgs[:0], msg), append(acks[:0], ack)
		msgs, acks = s.more(msgs, acks)
		recs, arena = recs[:0], arena[:0]
		for _, m := range msgs {
			start := len(arena)
			arena = appendSpooled(arena, m)
			recs = append(recs, arena[start:len(arena):len(arena)])
		}
		if !s.appendAll(ctx, recs, bo) {
			return // Close: the messages not appended are undelivered (the inner source counts them)
		}
		for _, a := range acks {
			_ = a(ctx, nil)
		}
	}
}

// more adds to msgs what the websocket source has queued, without waiting.
func (s *SpooledStreamSea) more(msgs []*pipeline.Message, acks []pipeline.AckFunc) ([]*pipeline.Message, []pipeline.AckFunc) {
	size := len(msgs[0].Value)
	for len(msgs) < intakeBatch && size < intakeBatchBytes {
		msg, ack, err := s.inner.Read(doneContext)
		if err != nil {
			break
		}
		msgs, acks = append(msgs, msg), append(acks, ack)
		size += len(msg.Value)
	}
	return msgs, acks
}

// doneContext is a context that is already done: a Read with it returns what is queued.
var doneContext = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// appendAll appends recs, retrying a failing disk with backoff. It reports false when the
// intake was cancelled first.
func (s *SpooledStreamSea) appendAll(ctx context.Context, recs [][]byte, bo *backoff.Backoff) bool {
	for {
		_, err := s.sp.Append(ctx, recs...)
		if err == nil {
			bo.Reset()
			return true
		}
		if ctx.Err() != nil || errors.Is(err, spool.ErrClosed) {
			return false
		}
		s.log.Error("spool: append failed, retrying; the websocket is not read meanwhile",
			"attempt", bo.Attempt()+1, "err", err)
		if bo.Wait(ctx) != nil {
			return false
		}
	}
}

// intakeFailed records why the intake ended: nothing after StopIntake or Close, else a fatal
// error for Read to return.
func (s *SpooledStreamSea) intakeFailed(ctx context.Context, err error) {
	if ctx.Err() != nil || errors.Is(err, pipeline.ErrDrained) || errors.Is(err, ErrStreamSeaClosed) {
		return
	}
	if !errors.Is(err, pipeline.ErrFatal) {
		err = fmt.Errorf("stream-sea source %q: %w: %w", s.opts.Pipeline, pipeline.ErrFatal, err)
	}
	s.fatal.Store(&err)
	close(s.failed) // the runner stops on it, whatever the sink is doing; Read returns it too
	s.log.Error("stream-sea source failed; the pipeline stops", "err", err)
}

// Read returns the next spooled message (Stream, Value, ReceivedAt and Time set), waiting for
// one. After StopIntake it returns pipeline.ErrDrained once the spool is read to its end or
// DrainFor has passed. A fatal error of the websocket source is returned wrapped with
// pipeline.ErrFatal.
func (s *SpooledStreamSea) Read(ctx context.Context) (*pipeline.Message, pipeline.AckFunc, error) {
	s.mu.Lock()
	sp, drainEnd := s.sp, s.drainEnd
	s.mu.Unlock()
	if sp == nil {
		return nil, nil, fmt.Errorf("stream-sea source %q: %w", s.opts.Pipeline, pipeline.ErrNotConnected)
	}
	for {
		if err := s.fatalErr(); err != nil {
			return nil, nil, err
		}
		draining := s.drainStarted.Load()
		if draining && time.Now().After(drainEnd) {
			return nil, nil, s.drained() // the drain time ran out
		}
		rec, ok, err := sp.TryNext()
		if err == nil && !ok {
			if s.wake.Err() != nil {
				// The intake has ended, possibly since the check above: it records a fatal
				// error before it ends, so that error is seen here for sure.
				switch err := s.fatalErr(); {
				case err != nil:
					return nil, nil, err
				case draining: // everything received is spooled and read
					return nil, nil, s.drained()
				default: // the intake was stopped by Close
					return nil, nil, fmt.Errorf("stream-sea source %q: %w: %w", s.opts.Pipeline, pipeline.ErrNotConnected, ErrStreamSeaClosed)
				}
			}
			rec, ok, err = s.waitNext(ctx, sp, drainEnd)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			return nil, nil, fmt.Errorf("stream-sea source %q: %w", s.opts.Pipeline, err)
		}
		if !ok {
			continue
		}
		msg, err := decodeSpooled(rec.Data)
		if err != nil {
			s.log.Error("spool: a record is not a spooled message; skipped", "seq", rec.Seq, "err", err)
			_ = sp.Ack(rec.Seq)
			continue
		}
		m := &spooledMessage{msg: msg, sp: sp, seq: rec.Seq}
		return &m.msg, m.ack, nil
	}
}

// waitNext waits for a record, for ctx, for the intake to end (wake), or for the end of the
// drain; ok is false (and err nil) when it stopped waiting for the intake or the drain.
func (s *SpooledStreamSea) waitNext(ctx context.Context, sp *spool.Spool, drainEnd time.Time) (spool.Record, bool, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.wake, cancel)
	defer stop()
	if s.drainStarted.Load() {
		var c2 context.CancelFunc
		wctx, c2 = context.WithDeadline(wctx, drainEnd)
		defer c2()
	}
	rec, err := sp.Next(wctx)
	if err != nil && ctx.Err() == nil && wctx.Err() != nil {
		return spool.Record{}, false, nil
	}
	return rec, err == nil, err
}

// drained is Read's error once the drain is over; what it did not hand out stays in the
// spool (Left counts it once the spool is closed).
func (s *SpooledStreamSea) drained() error {
	return fmt.Errorf("stream-sea source %q: %w", s.opts.Pipeline, pipeline.ErrDrained)
}

// StopIntake closes the websocket with the closing handshake (StreamSea.StopIntake); the
// intake appends everything received until the server answered, and Read hands out spooled
// records for DrainFor at most. It may be called more than once.
func (s *SpooledStreamSea) StopIntake() {
	if !s.drainStarted.CompareAndSwap(false, true) {
		return
	}
	s.mu.Lock()
	s.drainEnd = time.Now().Add(s.opts.DrainFor)
	s.mu.Unlock()
	s.inner.StopIntake()
}

// Close stops the intake (waiting, within ctx, for it to append what the websocket source had
// received), closes the websocket source and the spool, which persists its cursor. What is not
// acknowledged stays in the spool. It is idempotent.
func (s *SpooledStreamSea) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		sp := s.sp
		s.mu.Unlock()
		s.inner.StopIntake()
		if sp != nil {
			select {
			case <-s.intakeDone:
			case <-ctx.Done():
				s.stopIntake()
				<-s.intakeDone
			}
		}
		s.stopIntake()
		var errs []error
		errs = append(errs, s.inner.Close(ctx))
		if sp != nil {
			errs = append(errs, sp.Close())
			s.left.Store(sp.Stats().Records) // after Close, which counts what a drop took in flight
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// spooledMessage is one message read from the spool and its ack state.
type spooledMessage struct {
	msg   pipeline.Message
	sp    *spool.Spool
	seq   uint64
	acked atomic.Bool
}

// ack acknowledges the record in the spool; a nack leaves it there, to be handed out again
// when the spool is next opened.
func (m *spooledMessage) ack(_ context.Context, err error) error {
	if !m.acked.CompareAndSwap(false, true) {
		return ErrStreamSeaAckedTwice
	}
	if err != nil {
		return nil
	}
	return m.sp.Ack(m.seq)
}

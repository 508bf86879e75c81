package source

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/streamsea"
)

// Defaults of StreamSeaOptions.
const (
	DefaultStreamSeaMaxInFlight      = 10000
	DefaultStreamSeaMaxInFlightBytes = 64 << 20
)

// StreamSeaOptions configures a stream-sea source.
type StreamSeaOptions struct {
	Pipeline string
	// Subscriber configures the websocket; its Hooks are called too, after the source's own.
	// Its MaxHeld and MaxHeldBytes are set from MaxInFlight and MaxInFlightBytes.
	Subscriber streamsea.SubscriberOptions
	// MaxInFlight and MaxInFlightBytes (payload bytes) bound the messages received from the
	// websocket and not yet acked: at either the websocket is no longer read. Defaults
	// DefaultStreamSeaMaxInFlight and DefaultStreamSeaMaxInFlightBytes.
	MaxInFlight      int
	MaxInFlightBytes int64
}

// StreamSea is a pipeline.Source subscribed to stream-sea streams over the websocket protocol.
//
// The protocol has no acks and no replay: delivery is at most once from the server, and what
// the server sends while the bridge is disconnected is lost. A message is in flight from the
// moment its frame is read off the websocket (queued in the subscriber, or read by the
// pipeline) until its AckFunc is called (ack or nack alike: nothing can be redelivered).
// That is the backpressure: with MaxInFlight messages or MaxInFlightBytes in flight the
// websocket is no longer read, and the server's writes block. The subscriber reconnects by
// itself; Read never returns pipeline.ErrNotConnected for a lost connection, only after Close.
// At shutdown the runner calls StopIntake, which closes the websocket with the closing
// handshake, and reads what was received, until the server's close frame, and is still
// queued. Messages received and never acked when Close is called are counted and logged as
// undelivered.
//
// Connect, Read and Close may be called from different goroutines; Read is not called
// concurrently with itself. AckFuncs may be called from any goroutine.
type StreamSea struct {
	opts    StreamSeaOptions
	logger  *slog.Logger
	metrics streamSeaPipelineMetrics
	// undelivered counts the messages received and not acked when Close was called.
	undelivered atomic.Uint64

	// receivedWhenSpooled: a spool counts the messages received as it appends them
	// (countReceived); Read does not. Set before Connect.
	receivedWhenSpooled bool

	mu            sync.Mutex
	run           *subscriberRun // nil until Connect
	closed        bool
	intakeStopped bool

	failed   chan struct{} // closed when a subscriber failed fatally
	failure  error         // set before failed is closed
	failOnce sync.Once

	closeOnce sync.Once
	closeErr  error
}

var (
	_ pipeline.FailureNotifier     = (*StreamSea)(nil)
	_ pipeline.Source              = (*StreamSea)(nil)
	_ pipeline.BatchSource         = (*StreamSea)(nil)
	_ pipeline.IntakeStopper       = (*StreamSea)(nil)
	_ pipeline.ConnectionReporter  = (*StreamSea)(nil)
	_ pipeline.UndeliveredReporter = (*StreamSea)(nil)
)

// Undelivered is the number of messages received and never delivered: those not acked when
// Close was called, buffered and never read included. It is 0 until Close.
func (s *StreamSea) Undelivered() uint64 { return s.undelivered.Load() }

// Connected reports whether the websocket is connected, authenticated and subscribed now. It
// is false before Connect, after Close, and while the subscriber reconnects.
func (s *StreamSea) Connected() bool {
	s.mu.Lock()
	r := s.run
	s.mu.Unlock()
	return r != nil && r.sub.Connected()
}

// subscriberRun is one Subscriber and its Run goroutine.
type subscriberRun struct {
	sub       *streamsea.Subscriber
	cancel    context.CancelFunc
	connected chan struct{} // closed at the first successful connection
	done      chan struct{} // closed when Run returned
	err       error         // Run's result, valid once done is closed
	fatal     error         // err wrapped with pipeline.ErrFatal, when err is not nil
	lastErr   atomic.Pointer[error]
	attempts  atomic.Int64
}

// NewStreamSea validates opts (including the subscriber options) and returns an unconnected
// source. m may be nil (metrics are then kept unregistered).
func NewStreamSea(opts StreamSeaOptions, logger *slog.Logger, m *StreamSeaMetrics) (*StreamSea, error) {
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = DefaultStreamSeaMaxInFlight
	}
	if opts.MaxInFlightBytes <= 0 {
		opts.MaxInFlightBytes = DefaultStreamSeaMaxInFlightBytes
	}
	opts.Subscriber.MaxHeld, opts.Subscriber.MaxHeldBytes = opts.MaxInFlight, opts.MaxInFlightBytes
	if err := opts.Subscriber.Validate(); err != nil {
		return nil, fmt.Errorf("stream-sea source %q: %w", opts.Pipeline, err)
	}
	if m == nil {
		m = NewStreamSeaMetrics(nil)
	}
	s := &StreamSea{
		opts:    opts,
		logger:  logger.With("pipeline", opts.Pipeline),
		metrics: m.forPipeline(opts.Pipeline),
		failed:  make(chan struct{}),
	}
	m.gauges.track(opts.Pipeline, s)
	return s, nil
}

// Connect starts the subscriber and waits for its first connection (authenticated, every
// subscription confirmed); ctx bounds only this wait, later reconnects happen in the
// background. A refusal by the server (credentials, subscription) and, before the first
// connection, a rejected websocket upgrade (streamsea.ErrHandshakeRejected: wrong URL, 401,
// 403) or a TLS certificate failure (untrusted server certificate, refused client
// certificate) are returned wrapped with pipeline.ErrFatal. When
// ctx ends first, the subscriber is stopped and the error says why
// the connection failed. Connect on a connected source returns nil.
func (s *StreamSea) Connect(ctx context.Context) error {
	r, err := s.start()
	if r == nil || err != nil {
		return err
	}
	select {
	case <-r.connected:
		return nil
	case <-r.done:
		return s.runError(r)
	case <-ctx.Done():
		r.cancel()
		<-r.done
		s.mu.Lock()
		if s.run == r {
			s.run = nil
		}
		s.mu.Unlock()
		return s.connectTimeout(ctx, r)
	}
}

// start returns the run to wait for, or nil when there is nothing to wait for.
func (s *StreamSea) start() (*subscriberRun, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.intakeStopped {
		return nil, fmt.Errorf("stream-sea source %q: %w", s.opts.Pipeline, ErrStreamSeaClosed)
	}
	if r := s.run; r != nil {
		select {
		case <-r.done:
			return nil, s.runError(r)
		case <-r.connected:
			return nil, nil
		default:
			return r, nil
		}
	}
	r := &subscriberRun{connected: make(chan struct{}), done: make(chan struct{})}
	opts := s.opts.Subscriber
	opts.Hooks = s.hooks(r, opts.Hooks)
	sub, err := streamsea.NewSubscriber(opts, s.logger)
	if err != nil {
		return nil, fmt.Errorf("stream-sea source %q: %w", s.opts.Pipeline, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.sub, r.cancel = sub, cancel
	go func() {
		if r.err = sub.Run(ctx); r.err != nil {
			r.fatal = fmt.Errorf("stream-sea source %q: %w: %w", s.opts.Pipeline, pipeline.ErrFatal, r.err)
			s.failOnce.Do(func() {
				s.failure = r.fatal
				close(s.failed)
			})
		}
		close(r.done)
	}()
	s.run = r
	return r, nil
}

// hooks records connection events in the metrics and in r, then calls the caller's hooks.
func (s *StreamSea) hooks(r *subscriberRun, user streamsea.Hooks) streamsea.Hooks {
	var once sync.Once
	return streamsea.Hooks{
		OnConnect: func() {
			s.metrics.connects.Inc()
			once.Do(func() { close(r.connected) })
			if user.OnConnect != nil {
				user.OnConnect()
			}
		},
		OnDisconnect: func(err error) {
			s.metrics.disconnects.Inc()
			if user.OnDisconnect != nil {
				user.OnDisconnect(err)
			}
		},
		OnReconnectWait: func(attempt int, delay time.Duration, err error) {
			r.lastErr.Store(&err)
			r.attempts.Add(1)
			if user.OnReconnectWait != nil {
				user.OnReconnectWait(attempt, delay, err)
			}
		},
		OnProtocolError: func(err error) {
			s.metrics.protocolErrors.Inc()
			if user.OnProtocolError != nil {
				user.OnProtocolError(err)
			}
		},
	}
}

// Failed is closed once the subscriber failed fatally (see Connect), after the first
// connection too; Failure then says why. The runner stops on it whatever the sink is doing.
func (s *StreamSea) Failed() <-chan struct{} { return s.failed }

// Failure is the subscriber's fatal error, wrapping pipeline.ErrFatal, once Failed is closed.
func (s *StreamSea) Failure() error {
	select {
	case <-s.failed:
		return s.failure
	default:
		return nil
	}
}

// runError is the error of a subscriber whose Run has returned.
func (s *StreamSea) runError(r *subscriberRun) error {
	if r.err != nil {
		return r.fatal
	}
	return fmt.Errorf("stream-sea source %q: %w", s.opts.Pipeline, ErrStreamSeaClosed)
}

func (s *StreamSea) connectTimeout(ctx context.Context, r *subscriberRun) error {
	if last := r.lastErr.Load(); last != nil {
		return fmt.Errorf("stream-sea source %q: not connected after %d attempts: %w (last error: %w)",
			s.opts.Pipeline, r.attempts.Load(), ctx.Err(), *last)
	}
	return fmt.Errorf("stream-sea source %q: not connected: %w", s.opts.Pipeline, ctx.Err())
}

// Read returns the next delivery as a Message (Stream, Value, ReceivedAt and Time set). It
// blocks until a delivery is queued, which, with MaxInFlight messages in flight, is once some
// are acked. The subscriber's fatal errors (see Connect) are returned wrapped with
// pipeline.ErrFatal; after Close (or before Connect) Read returns pipeline.ErrNotConnected.
func (s *StreamSea) Read(ctx context.Context) (*pipeline.Message, pipeline.AckFunc, error) {
	s.mu.Lock()
	r := s.run
	s.mu.Unlock()
	if r == nil {
		return nil, nil, fmt.Errorf("stream-sea source %q: %w", s.opts.Pipeline, pipeline.ErrNotConnected)
	}
	d, err := r.sub.Next(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, s.stoppedError(r)
	}
	s.countRead(1)
	msg, ack := s.message(r, d)
	return msg, ack, nil
}

// ReadBatch is Read for up to len(msgs) messages at once (pipeline.BatchSource): it waits as
// Read does for the first message, then returns the others already received, without
// waiting for more.
func (s *StreamSea) ReadBatch(ctx context.Context, msgs []*pipeline.Message, acks []pipeline.AckFunc) (int, error) {
	msg, ack, err := s.Read(ctx)
	if err != nil {
		return 0, err
	}
	msgs[0], acks[0] = msg, ack
	s.mu.Lock()
	r := s.run
	s.mu.Unlock()
	n := 1
	for ; n < len(msgs) && r != nil; n++ {
		d, ok := r.sub.TryNext()
		if !ok {
			break
		}
		msgs[n], acks[n] = s.message(r, d)
	}
	s.countRead(n - 1)
	return n, nil
}

// message wraps a delivery of r as a pipeline message and its AckFunc.
func (s *StreamSea) message(r *subscriberRun, d streamsea.Delivery) (*pipeline.Message, pipeline.AckFunc) {
	m := &streamSeaMessage{sub: r.sub, d: d, msg: pipeline.Message{
		Stream: d.Stream, Value: d.Payload, ReceivedAt: d.ReceivedAt, Time: d.ReceivedAt,
	}}
	return &m.msg, m.ack
}

// countRead counts n messages read as received, unless a spool counts them.
func (s *StreamSea) countRead(n int) {
	if !s.receivedWhenSpooled {
		s.metrics.received.Add(float64(n))
	}
}

// countReceived counts n messages received (appended to a spool). It must not block.
func (s *StreamSea) countReceived(n int) { s.metrics.received.Add(float64(n)) }

// stoppedError is Read's error once the subscriber's Run has returned and nothing is
// queued: the fatal error, pipeline.ErrDrained after StopIntake, else pipeline.ErrNotConnected.
func (s *StreamSea) stoppedError(r *subscriberRun) error {
	<-r.done
	if r.err != nil {
		return s.runError(r)
	}
	s.mu.Lock()
	drained := s.intakeStopped && !s.closed
	s.mu.Unlock()
	if drained {
		return fmt.Errorf("stream-sea source %q: %w", s.opts.Pipeline, pipeline.ErrDrained)
	}
	return fmt.Errorf("stream-sea source %q: %w: %w", s.opts.Pipeline, pipeline.ErrNotConnected, ErrStreamSeaClosed)
}

// StopIntake closes the websocket with the closing handshake and stops reconnecting, keeping
// what was received: the subscriber sends its close frame and goes on reading what the server
// sent until the server answers or the subscriber's CloseWait has passed (streamsea.Subscriber
// Stop). Read hands out every message received, those of the handshake included, then
// returns an error wrapping pipeline.ErrDrained. Connect fails afterwards. It may be called
// concurrently with Read, and more than once.
func (s *StreamSea) StopIntake() {
	s.mu.Lock()
	s.intakeStopped = true
	r := s.run
	s.mu.Unlock()
	if r != nil {
		r.sub.Stop()
	}
}

// streamSeaMessage is one read message and its ack state.
type streamSeaMessage struct {
	msg   pipeline.Message
	sub   *streamsea.Subscriber
	d     streamsea.Delivery
	acked atomic.Bool
}

// ack ends the message's time in flight; err is ignored since nothing can be redelivered.
func (m *streamSeaMessage) ack(context.Context, error) error {
	if !m.acked.CompareAndSwap(false, true) {
		return ErrStreamSeaAckedTwice
	}
	m.sub.Release(m.d)
	return nil
}

// Close stops the subscriber (closing the websocket) and reports the messages received and
// not acked at this point, including those queued and never read, as undelivered. It is
// idempotent; ctx bounds the wait for the subscriber to stop.
func (s *StreamSea) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		r := s.run
		s.mu.Unlock()
		if r == nil {
			return
		}
		r.cancel()
		select {
		case <-r.done:
		case <-ctx.Done():
			s.closeErr = fmt.Errorf("stream-sea source %q: close: %w", s.opts.Pipeline, ctx.Err())
		}
		s.reportUndelivered(r)
	})
	return s.closeErr
}

func (s *StreamSea) reportUndelivered(r *subscriberRun) {
	w := r.sub.Window()
	unacked, buffered := w.Held-w.Queued, w.Queued
	if n := unacked + buffered; n > 0 {
		s.undelivered.Add(uint64(n))
		s.metrics.undelivered.Add(float64(n))
		s.logger.Warn("stream-sea messages received but not delivered",
			"unacked", unacked, "buffered", buffered)
		return
	}
	s.logger.Info("stream-sea source closed; every received message was delivered")
}

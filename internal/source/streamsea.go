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

const defaultStreamSeaMaxInFlight = 10000

// StreamSeaOptions configures a stream-sea source.
type StreamSeaOptions struct {
	Pipeline   string
	Subscriber streamsea.SubscriberOptions // its Hooks are called too, after the source's own
	// MaxInFlight is how many messages may be read and not yet acked before Read blocks (and,
	// once the subscriber's buffer is full, the websocket stops being read); default 10000.
	MaxInFlight int
}

// StreamSea is a pipeline.Source subscribed to stream-sea streams over the websocket protocol.
//
// The protocol has no acks and no replay: delivery is at most once from the server, and what
// the server sends while the bridge is disconnected is lost. AckFuncs (ack or nack alike) only
// release in-flight accounting, which is the backpressure: with MaxInFlight messages unacked
// Read blocks, the subscriber's buffer fills and the websocket is no longer read. The
// subscriber reconnects by itself; Read never returns pipeline.ErrNotConnected for a lost
// connection, only after Close. At shutdown the runner calls StopIntake, which closes the
// websocket, and then reads what was received and is still buffered. Messages received and
// never acked when Close is called are counted and logged as undelivered.
//
// Connect, Read and Close may be called from different goroutines; Read is not called
// concurrently with itself. AckFuncs may be called from any goroutine.
type StreamSea struct {
	opts     StreamSeaOptions
	logger   *slog.Logger
	metrics  streamSeaPipelineMetrics
	slots    chan struct{} // one token per unacked message
	inFlight atomic.Int64

	mu            sync.Mutex
	run           *subscriberRun // nil until Connect
	closed        bool
	intakeStopped bool

	closeOnce sync.Once
	closeErr  error
}

var (
	_ pipeline.Source             = (*StreamSea)(nil)
	_ pipeline.IntakeStopper      = (*StreamSea)(nil)
	_ pipeline.ConnectionReporter = (*StreamSea)(nil)
)

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
	lastErr   atomic.Pointer[error]
	attempts  atomic.Int64
}

// NewStreamSea validates opts (including the subscriber options) and returns an unconnected
// source. m may be nil (metrics are then kept unregistered).
func NewStreamSea(opts StreamSeaOptions, logger *slog.Logger, m *StreamSeaMetrics) (*StreamSea, error) {
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = defaultStreamSeaMaxInFlight
	}
	if err := opts.Subscriber.Validate(); err != nil {
		return nil, fmt.Errorf("stream-sea source %q: %w", opts.Pipeline, err)
	}
	if m == nil {
		m = NewStreamSeaMetrics(nil)
	}
	return &StreamSea{
		opts:    opts,
		logger:  logger.With("pipeline", opts.Pipeline),
		metrics: m.forPipeline(opts.Pipeline),
		slots:   make(chan struct{}, opts.MaxInFlight),
	}, nil
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
		r.err = sub.Run(ctx)
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
			s.metrics.connected.Set(1)
			s.metrics.connects.Inc()
			once.Do(func() { close(r.connected) })
			if user.OnConnect != nil {
				user.OnConnect()
			}
		},
		OnDisconnect: func(err error) {
			s.metrics.connected.Set(0)
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

// runError is the error of a subscriber whose Run has returned.
func (s *StreamSea) runError(r *subscriberRun) error {
	if r.err != nil {
		return fmt.Errorf("stream-sea source %q: %w: %w", s.opts.Pipeline, pipeline.ErrFatal, r.err)
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
// blocks while MaxInFlight messages are unacked and until a delivery arrives. The subscriber's
// fatal errors (see Connect) are returned wrapped with pipeline.ErrFatal; after Close (or before Connect) Read
// returns pipeline.ErrNotConnected.
func (s *StreamSea) Read(ctx context.Context) (*pipeline.Message, pipeline.AckFunc, error) {
	s.mu.Lock()
	r := s.run
	s.mu.Unlock()
	if r == nil {
		return nil, nil, fmt.Errorf("stream-sea source %q: %w", s.opts.Pipeline, pipeline.ErrNotConnected)
	}
	if err := s.acquireSlot(ctx, r); err != nil {
		return nil, nil, err
	}
	d, err := r.sub.Next(ctx)
	if err != nil {
		<-s.slots
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, s.stoppedError(r)
	}
	s.inFlight.Add(1)
	s.metrics.inFlight.Inc()
	s.metrics.received.Inc()
	m := &streamSeaMessage{src: s, msg: pipeline.Message{
		Stream: d.Stream, Value: d.Payload, ReceivedAt: d.ReceivedAt, Time: d.ReceivedAt,
	}}
	return &m.msg, m.ack, nil
}

// acquireSlot takes an in-flight slot, blocking while MaxInFlight messages are unacked. Once
// the subscriber has stopped it waits only while received messages remain to be read.
func (s *StreamSea) acquireSlot(ctx context.Context, r *subscriberRun) error {
	select {
	case s.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case s.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.done:
	}
	if r.sub.Buffered() == 0 {
		return s.stoppedError(r)
	}
	select {
	case s.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stoppedError is Read's error once the subscriber's Run has returned and its buffer is
// empty: the fatal error, pipeline.ErrDrained after StopIntake, else pipeline.ErrNotConnected.
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

// StopIntake closes the websocket and stops reconnecting, keeping what was received: Read
// hands out the buffered messages, then returns an error wrapping pipeline.ErrDrained. Connect
// fails afterwards. It may be called concurrently with Read, and more than once.
func (s *StreamSea) StopIntake() {
	s.mu.Lock()
	s.intakeStopped = true
	r := s.run
	s.mu.Unlock()
	if r != nil {
		r.cancel()
	}
}

// streamSeaMessage is one read message and its ack state.
type streamSeaMessage struct {
	msg   pipeline.Message
	src   *StreamSea
	acked atomic.Bool
}

// ack releases the message's in-flight slot; err is ignored since nothing can be redelivered.
func (m *streamSeaMessage) ack(context.Context, error) error {
	if !m.acked.CompareAndSwap(false, true) {
		return ErrStreamSeaAckedTwice
	}
	m.src.inFlight.Add(-1)
	m.src.metrics.inFlight.Dec()
	<-m.src.slots
	return nil
}

// Close stops the subscriber (closing the websocket) and reports the messages received and
// not acked at this point, including those buffered and never read, as undelivered. It is
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
	unacked, buffered := s.inFlight.Load(), int64(r.sub.Buffered())
	if n := unacked + buffered; n > 0 {
		s.metrics.undelivered.Add(float64(n))
		s.logger.Warn("stream-sea messages received but not delivered",
			"unacked", unacked, "buffered", buffered)
		return
	}
	s.logger.Info("stream-sea source closed; every received message was delivered")
}

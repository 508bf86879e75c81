package streamsea

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seabridge/seabridge/internal/backoff"
)

// Subscriber keeps one websocket connection to stream-sea subscribed to a set of streams,
// reconnecting with backoff when it fails, and hands deliveries out through Next.
//
// Run is the connection loop; Next is called by one consumer goroutine; Connected may be
// called from anywhere. When nobody calls Next, the buffer fills, the reader stops reading the
// socket and the server's writes block: nothing is dropped and nothing grows.
type Subscriber struct {
	opts       SubscriberOptions
	logger     *slog.Logger
	report     func(error)
	deliveries chan Delivery
	done       chan struct{} // closed when Run returned
	stopErr    error         // why Run returned; written before done is closed
	started    atomic.Bool
	connected  atomic.Bool

	// leftMu guards leftover: deliveries received but not yet buffered when Run stopped,
	// handed out by Next after the buffer.
	leftMu   sync.Mutex
	leftover []Delivery
}

// NewSubscriber validates opts (URL, credentials, at least one subscription, group ids as
// RFC 4122 UUIDs) and returns a Subscriber ready to Run.
func NewSubscriber(opts SubscriberOptions, logger *slog.Logger) (*Subscriber, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Subscriber{
		opts:       opts,
		logger:     logger,
		report:     newProtocolReporter(opts.Hooks.OnProtocolError, logger),
		deliveries: make(chan Delivery, opts.Buffer),
		done:       make(chan struct{}),
	}, nil
}

// Run connects, reads deliveries into the buffer and reconnects (with backoff and jitter,
// re-subscribing with the same group ids) until ctx is done. The backoff grows while dialling,
// authenticating or subscribing fails, and starts again from its initial delay after every
// connection that was authenticated and subscribed. When ctx is done it returns nil after closing the
// connection. It returns early with a fatal error, without retrying:
//   - matching ErrAuthFailed or ErrSubscribeFailed when the server refuses the credentials or
//     a subscription;
//   - before the first successful connection only, a *HandshakeError (ErrHandshakeRejected)
//     for an upgrade answered with a 4xx status other than 408 and 429 (wrong URL, rejected
//     credentials), or the dial error when the server's TLS certificate is not trusted or
//     the server refused the client's certificate (IsCertificateError).
//
// After a successful connection those dial errors are retried like network errors, DNS
// failures and 5xx answers. Run may be called once.
func (s *Subscriber) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	err := s.loop(ctx)
	s.stopErr = err
	if err == nil {
		s.stopErr = ErrSubscriberStopped
	}
	close(s.done)
	return err
}

func (s *Subscriber) loop(ctx context.Context) error {
	bo := backoff.New(s.opts.Backoff)
	everConnected := false
	for {
		connectedAt, err := s.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		everConnected = everConnected || !connectedAt.IsZero()
		if isFatal(err, everConnected) {
			return err
		}
		if !connectedAt.IsZero() {
			// The server accepted the credentials and every subscription: whatever ended
			// this connection, the next one starts again from the initial delay.
			bo.Reset()
		}
		delay := bo.Next()
		if h := s.opts.Hooks.OnReconnectWait; h != nil {
			h(bo.Attempt(), delay, err)
		}
		s.logReconnect(bo.Attempt(), delay, err)
		if backoff.Sleep(ctx, delay) != nil {
			return nil
		}
	}
}

func (s *Subscriber) logReconnect(attempt int, delay time.Duration, err error) {
	attrs := []any{"url", s.opts.URL, "attempt", attempt, "delay", delay, "err", err}
	if he, ok := errors.AsType[*HandshakeError](err); ok {
		attrs = append(attrs, "status", he.Status)
	}
	s.logger.Warn("stream-sea connection failed; reconnecting", attrs...)
}

// session runs one connection until it fails. connectedAt is when the connection was
// established, zero when dialling, authenticating or subscribing failed.
func (s *Subscriber) session(ctx context.Context) (connectedAt time.Time, err error) {
	conn, err := dialConn(ctx, s.opts, s.report)
	if err != nil {
		return time.Time{}, err
	}
	connectedAt = time.Now()
	s.connected.Store(true)
	if h := s.opts.Hooks.OnConnect; h != nil {
		h()
	}
	s.logger.Info("connected to stream-sea", "url", s.opts.URL, "subscriptions", len(s.opts.Subscriptions))
	err = s.pump(ctx, conn)
	s.connected.Store(false)
	_ = conn.Close()
	if h := s.opts.Hooks.OnDisconnect; h != nil {
		h(err)
	}
	return connectedAt, err
}

// pump moves deliveries from conn into the buffer, blocking while the buffer is full. When
// ctx ends first, the deliveries of the current batch not yet buffered are kept as leftover.
func (s *Subscriber) pump(ctx context.Context, conn *Conn) error {
	var batch []Delivery
	for {
		var err error
		batch, err = conn.ReadDelivery(ctx, batch[:0])
		for i := range batch {
			select {
			case s.deliveries <- batch[i]:
			case <-ctx.Done():
				s.leftMu.Lock()
				s.leftover = append(s.leftover, batch[i:]...)
				s.leftMu.Unlock()
				return ctx.Err()
			}
		}
		clear(batch)
		if err != nil {
			return err
		}
	}
}

// Next returns the next delivery, blocking until one is buffered or ctx is done. Once Run has
// returned, it hands out what is still buffered, then the rest of a batch that was being
// buffered, in order; then it returns Run's fatal error, or ErrSubscriberStopped.
func (s *Subscriber) Next(ctx context.Context) (Delivery, error) {
	select {
	case d := <-s.deliveries:
		return d, nil
	default:
	}
	select {
	case d := <-s.deliveries:
		return d, nil
	case <-s.done:
		select {
		case d := <-s.deliveries:
			return d, nil
		default:
			return s.nextLeftover()
		}
	case <-ctx.Done():
		return Delivery{}, ctx.Err()
	}
}

func (s *Subscriber) nextLeftover() (Delivery, error) {
	s.leftMu.Lock()
	defer s.leftMu.Unlock()
	if len(s.leftover) == 0 {
		return Delivery{}, s.stopErr
	}
	d := s.leftover[0]
	s.leftover[0] = Delivery{}
	s.leftover = s.leftover[1:]
	return d, nil
}

// Buffered returns how many received deliveries are waiting to be taken by Next.
func (s *Subscriber) Buffered() int {
	s.leftMu.Lock()
	defer s.leftMu.Unlock()
	return len(s.deliveries) + len(s.leftover)
}

// Connected reports whether a connection is authenticated with every subscription confirmed.
func (s *Subscriber) Connected() bool { return s.connected.Load() }

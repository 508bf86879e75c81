package streamsea

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/seabridge/seabridge/internal/backoff"
)

// peerCheckEvery is how often a paused reader asks the kernel whether the server closed or
// reset the connection.
const peerCheckEvery = 200 * time.Millisecond

// errPeerClosed is the cause given to OnDisconnect when the server closed or reset the
// connection while its frames were not being read.
var errPeerClosed = errors.New("stream-sea closed or reset the connection while reading was paused")

// Subscriber keeps one websocket connection to stream-sea subscribed to a set of streams,
// reconnecting with backoff when it fails, and hands deliveries out through Next.
//
// Every delivery read from the websocket is held until the consumer passes it to Release.
// While MaxHeld deliveries or MaxHeldBytes payload bytes are held, the reader reads no further
// frame: the socket's buffers fill and the server's writes block. Nothing is dropped and
// nothing grows. A frame read below the limits is kept whole, so the limits can be exceeded
// by one frame (one batch frame's elements less one, and its bytes).
//
// Stop ends the subscription without losing what the server already sent: see Stop.
//
// Run is the connection loop; Next is called by one consumer goroutine; Release, Connected,
// Window and Stop may be called from anywhere.
type Subscriber struct {
	opts    SubscriberOptions
	logger  *slog.Logger
	report  func(error)
	win     *window
	done    chan struct{} // closed when Run returned
	stopErr error         // why Run returned; written before done is closed
	started atomic.Bool

	stopping     context.Context // done once Stop was called
	stop         context.CancelFunc
	closeExpired context.Context // done CloseWait after Stop: Run closes the connection
	expireClose  context.CancelFunc
	stopOnce     sync.Once

	connected   atomic.Bool          // a connection is established and not known to be lost
	conn        atomic.Pointer[Conn] // the current connection, nil between connections
	pausedSince atomic.Int64         // unix nanoseconds the reader began waiting for room; 0 when reading
}

// NewSubscriber validates opts (URL, credentials, at least one subscription, group ids as
// RFC 4122 UUIDs) and returns a Subscriber ready to Run.
func NewSubscriber(opts SubscriberOptions, logger *slog.Logger) (*Subscriber, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Subscriber{
		opts:   opts,
		logger: logger,
		report: newProtocolReporter(opts.Hooks.OnProtocolError, logger),
		win:    newWindow(opts.MaxHeld, opts.MaxHeldBytes),
		done:   make(chan struct{}),
	}
	s.stopping, s.stop = context.WithCancel(context.Background())
	s.closeExpired, s.expireClose = context.WithCancel(context.Background())
	return s, nil
}

// Run connects, reads deliveries into the window and reconnects (with backoff and jitter,
// re-subscribing with the same group ids) until ctx is done or Stop's closing handshake is
// over. The backoff grows while dialling, authenticating or subscribing fails, and starts
// again from its initial delay after every connection that was authenticated and subscribed.
// When ctx is done it returns nil after closing the connection at once; what the server sent
// and the reader had not read yet is not received (Stop avoids that). It returns early with a
// fatal error, without retrying:
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
	ctx, cancel := context.WithCancel(ctx)
	unwatch := context.AfterFunc(s.closeExpired, cancel)
	err := s.loop(ctx)
	unwatch()
	cancel()
	s.stopErr = err
	if err == nil {
		s.stopErr = ErrSubscriberStopped
	}
	close(s.done)
	return err
}

// Stop ends the subscription gracefully, as a shutdown or a reload needs it: Run stops
// reconnecting, and on the current connection the subscriber sends a close frame (1000) and
// goes on reading, keeping every delivery the server sent before its answer, until the
// server's close frame arrives or CloseWait has passed; then it closes the TCP connection and
// Run returns nil. Backpressure still applies while it waits: the deliveries must be released
// for more to be read. A server that honours the closing handshake stops sending and answers,
// so that nothing it sent is lost; one that does not answer within CloseWait loses what it
// sent after the close frame. Next hands out what was read, then ErrSubscriberStopped.
// While Run waits to reconnect it returns at once; a dial under way completes first (within
// CloseWait) and its connection is closed the same way. Stop may be called more than once,
// and before Run.
func (s *Subscriber) Stop() {
	s.stopOnce.Do(func() {
		s.stop()
		time.AfterFunc(s.opts.CloseWait, s.expireClose)
	})
}

func (s *Subscriber) loop(ctx context.Context) error {
	// waitCtx ends at Stop too: no new connection is dialled, and no reconnect waited for.
	// A dial under way goes on (within ctx, which ends CloseWait after Stop): the server may
	// already route deliveries to the new subscriptions, which the closing handshake reads.
	waitCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.stopping, cancel)()
	bo := backoff.New(s.opts.Backoff)
	everConnected := false
	for waitCtx.Err() == nil {
		connected, err := s.session(ctx)
		if waitCtx.Err() != nil {
			return nil
		}
		everConnected = everConnected || connected
		if isFatal(err, everConnected) {
			return err
		}
		if connected {
			// The server accepted the credentials and every subscription: whatever ended
			// this connection, the next one starts again from the initial delay.
			bo.Reset()
		}
		delay := bo.Next()
		if h := s.opts.Hooks.OnReconnectWait; h != nil {
			h(bo.Attempt(), delay, err)
		}
		s.logReconnect(bo.Attempt(), delay, err)
		if backoff.Sleep(waitCtx, delay) != nil {
			return nil
		}
	}
	return nil
}

func (s *Subscriber) logReconnect(attempt int, delay time.Duration, err error) {
	attrs := []any{"url", s.opts.URL, "attempt", attempt, "delay", delay, "err", err}
	if he, ok := errors.AsType[*HandshakeError](err); ok {
		attrs = append(attrs, "status", he.Status)
	}
	if ce, ok := errors.AsType[*websocket.CloseError](err); ok {
		attrs = append(attrs, "close_code", ce.Code, "close_reason", ce.Text)
	}
	s.logger.Warn("stream-sea connection failed; reconnecting", attrs...)
}

// session runs one connection until it fails, or until its closing handshake is over once
// Stop was called. connected reports whether it was established (authenticated, every
// subscription confirmed).
func (s *Subscriber) session(ctx context.Context) (connected bool, err error) {
	conn, err := dialConn(ctx, s.opts, s.report)
	if err != nil {
		return false, err
	}
	s.conn.Store(conn)
	s.connected.Store(true)
	if h := s.opts.Hooks.OnConnect; h != nil {
		h()
	}
	s.logger.Info("connected to stream-sea", "url", s.opts.URL, "subscriptions", len(s.opts.Subscriptions))
	lost := false
	markLost := func(cause error) {
		if lost {
			return
		}
		lost = true
		s.connected.Store(false)
		if h := s.opts.Hooks.OnDisconnect; h != nil {
			h(cause)
		}
	}
	stopClosing := context.AfterFunc(s.stopping, conn.BeginClose)
	err = s.pump(ctx, conn, markLost)
	if !stopClosing() { // Stop began the closing handshake
		s.logClosed(err)
	}
	markLost(err)
	_ = conn.Close()
	s.conn.Store(nil)
	return true, err
}

// logClosed says how the closing handshake that Stop began ended: err is what ended the
// reading.
func (s *Subscriber) logClosed(err error) {
	if ce, ok := errors.AsType[*websocket.CloseError](err); ok {
		s.logger.Debug("stream-sea answered the close frame", "url", s.opts.URL, "close_code", ce.Code)
		return
	}
	if s.closeExpired.Err() != nil {
		s.logger.Warn("stream-sea closing handshake not over within the close wait (the server did not answer the close frame, "+
			"or the pipeline did not take what it sent); closing the connection: what was not read is lost",
			"url", s.opts.URL, "close_wait", s.opts.CloseWait, "paused", s.pausedSince.Load() != 0)
	}
}

// pump moves deliveries from conn into the window, waiting for room before each frame.
func (s *Subscriber) pump(ctx context.Context, conn *Conn, markLost func(error)) error {
	var batch []Delivery
	full := s.win.full()
	for {
		if full {
			if err := s.awaitRoom(ctx, conn, markLost); err != nil {
				return err
			}
		}
		var err error
		batch, err = conn.ReadDelivery(ctx, batch[:0])
		full = s.win.push(batch)
		clear(batch)
		if err != nil {
			return err
		}
	}
}

// awaitRoom returns once the window has room for another frame, or ctx's error. While it
// waits the socket is not read, so a close frame cannot be seen; it asks the kernel instead
// whether the server closed or reset the connection, and reports that at once through
// markLost. The frames still in the socket are read afterwards, as room frees, before the
// connection ends.
func (s *Subscriber) awaitRoom(ctx context.Context, conn *Conn, markLost func(error)) error {
	s.pausedSince.Store(time.Now().UnixNano())
	defer s.pausedSince.Store(0)
	tick := time.NewTicker(peerCheckEvery)
	defer tick.Stop()
	peerGone, stale := false, false
	for s.win.full() {
		select {
		case <-s.win.room:
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			if !peerGone && peerClosed(conn.ws.NetConn()) {
				peerGone = true
				s.logger.Warn("stream-sea closed the connection while reading was paused; "+
					"reading what it sent before reconnecting", "url", s.opts.URL)
				markLost(errPeerClosed)
			}
			if !stale && !peerGone && !s.Connected() {
				stale = true
				s.logger.Warn("stream-sea websocket not read for dead_after while the pipeline holds "+
					"max_in_flight: whether the server still serves it is unknown, reporting it as not connected",
					"url", s.opts.URL, "dead_after", s.opts.DeadAfter)
			}
		}
	}
	return nil
}

// Next returns the next delivery, blocking until one is read or ctx is done. The delivery
// stays held (counted against MaxHeld and MaxHeldBytes) until it is passed to Release. Once
// Run has returned, Next hands out what is still queued, in order; then it returns Run's
// fatal error, or ErrSubscriberStopped.
func (s *Subscriber) Next(ctx context.Context) (Delivery, error) {
	for {
		if d, ok := s.win.pop(); ok {
			return d, nil
		}
		select {
		case <-s.win.arrived:
		case <-s.done:
			if d, ok := s.win.pop(); ok {
				return d, nil
			}
			return Delivery{}, s.stopErr
		case <-ctx.Done():
			return Delivery{}, ctx.Err()
		}
	}
}

// TryNext returns the next delivery if one has been received, without waiting: Next
// without blocking. Deliveries it returns are released like Next's.
func (s *Subscriber) TryNext() (Delivery, bool) { return s.win.pop() }

// Release ends the holding of a delivery returned by Next, making room for more. It reports
// false, and does nothing, for a delivery already released or not handed out by s.
func (s *Subscriber) Release(d Delivery) bool { return s.win.release(d) }

// Window returns what the subscriber holds now.
func (s *Subscriber) Window() WindowStats {
	st := s.win.stats()
	st.Paused = s.pausedSince.Load() != 0
	return st
}

// Connected reports whether a connection is authenticated with every subscription confirmed
// and not known to be lost. While the reader waits for room it does not see the connection's
// frames: a close or reset that reaches the socket is noticed within peerCheckEvery, but a
// server that closes while the socket's buffers are full cannot even send its close. So a
// connection not read for DeadAfter, the same silence after which a read connection is
// declared dead, is reported as not connected until a frame is read again or it ends.
func (s *Subscriber) Connected() bool {
	if !s.connected.Load() {
		return false
	}
	if s.pausedSince.Load() == 0 {
		return true
	}
	c := s.conn.Load()
	return c != nil && time.Since(c.lastReceived()) < s.opts.DeadAfter
}

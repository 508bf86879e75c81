package streamsea

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

const (
	writeTimeout      = 10 * time.Second // bounds one frame or pong write
	closeTimeout      = time.Second      // bounds the close frame write in Close
	readBufferSize    = 32 << 10
	protocolWarnEvery = 10 * time.Second // at most one WARN per interval for skipped frames
)

// Delivery is one message received on a subscription. Payload is owned by the receiver (it is
// not reused by the connection); the elements of one batch may share a backing array.
type Delivery struct {
	Stream     string
	Payload    []byte
	ReceivedAt time.Time
	seq        uint64 // its number in the Subscriber's window, for Release
}

// Conn is one authenticated websocket connection with every subscription confirmed. It owns
// one writer goroutine (handshake frames, pongs, the close frame); the caller of ReadDelivery
// is its only reader. ReadDelivery must not be called concurrently with itself; Close may be
// called at any time from any goroutine.
type Conn struct {
	ws        *websocket.Conn
	clientID  string
	deadAfter time.Duration
	subs      []Subscription // subs[i] was subscribed with id i+2
	confirmed []bool         // during the handshake: subs[i] answered success:true
	report    func(error)    // receives every skipped frame's *ProtocolError
	pending   []Delivery     // deliveries read during the handshake, handed out first
	buf       bytes.Buffer   // the current message; reused for every read

	deadlineMu sync.Mutex // serialises read-deadline changes between reader and abort
	aborted    bool       // guarded by deadlineMu: a context ended the connection's reads
	abortErr   error      // guarded by deadlineMu

	received atomic.Int64 // unix nanoseconds of the last frame or ping read

	watchMu   sync.Mutex
	watched   context.Context // written by the reader under watchMu, read by the reader only
	stopWatch func() bool     // guarded by watchMu

	requests       chan writeRequest
	pongs          chan []byte
	closing        chan struct{} // closed by BeginClose: the writer sends the close frame and stops
	writerDone     chan struct{}
	closeFrameOnce sync.Once
	closeOnce      sync.Once
	closeErr       error
}

type writeRequest struct {
	data []byte
	done chan error
}

// DialConn dials opts.URL, authenticates (frame id 1) and subscribes to every subscription
// (ids 2..n+1), waiting for every answer; opts.DialTimeout and ctx bound all of it. It returns
// an error matching ErrAuthFailed or ErrSubscribeFailed when the server refuses, which
// reconnecting cannot fix; a *HandshakeError (matching ErrHandshakeRejected) when the server
// answers the upgrade request with an HTTP status; an error wrapping the TLS or x509 error
// when the server's certificate is not trusted. Malformed frames are skipped, counted through
// opts.Hooks.OnProtocolError and logged (rate-limited) on logger.
func DialConn(ctx context.Context, opts SubscriberOptions, logger *slog.Logger) (*Conn, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return dialConn(ctx, opts, newProtocolReporter(opts.Hooks.OnProtocolError, logger))
}

// dialConn is DialConn with opts already defaulted and a shared protocol error reporter.
func dialConn(ctx context.Context, opts SubscriberOptions, report func(error)) (*Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.DialTimeout)
	defer cancel()
	auth, err := authFrame(ctx, &opts)
	if err != nil {
		return nil, err
	}
	dialer := websocket.Dialer{
		TLSClientConfig:  opts.TLS,
		HandshakeTimeout: opts.DialTimeout,
		ReadBufferSize:   readBufferSize,
		Proxy:            nil,
	}
	ws, resp, err := dialer.DialContext(ctx, opts.URL, nil)
	if err != nil {
		err = dialError(opts.URL, resp, err)
	}
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	c := newConn(ws, &opts, report)
	if err := c.handshake(ctx, auth); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

func newConn(ws *websocket.Conn, opts *SubscriberOptions, report func(error)) *Conn {
	c := &Conn{
		ws:         ws,
		clientID:   opts.ClientID,
		deadAfter:  opts.DeadAfter,
		subs:       opts.Subscriptions,
		confirmed:  make([]bool, len(opts.Subscriptions)),
		report:     report,
		requests:   make(chan writeRequest),
		pongs:      make(chan []byte, 1),
		closing:    make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	c.received.Store(time.Now().UnixNano())
	ws.SetReadLimit(opts.MaxFrameBytes)
	ws.SetPingHandler(c.onPing)
	// The writer sends the connection's one close frame, at BeginClose or Close; a server's
	// close frame ends ReadDelivery, whose caller then calls Close, which answers it.
	ws.SetCloseHandler(func(int, string) error { return nil })
	go c.writeLoop()
	return c
}

// authFrame encodes the authenticate request, fetching a JWT when configured.
func authFrame(ctx context.Context, opts *SubscriberOptions) ([]byte, error) {
	p := AuthPayload{Type: "basic", ClientID: opts.ClientID, ClientSecret: opts.ClientSecret}
	if opts.JWT != nil {
		token, err := opts.JWT(ctx)
		if err != nil {
			return nil, fmt.Errorf("stream-sea jwt for client %q: %w", opts.ClientID, err)
		}
		p = AuthPayload{Type: "jwt", ClientID: opts.ClientID, JWT: token}
	}
	payload, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("stream-sea authenticate frame: %w", err)
	}
	return AppendFrame(nil, &Frame{ID: 1, Action: ActionAuthenticate, Payload: payload}), nil
}

// handshake authenticates and subscribes; ctx is the dial context.
func (c *Conn) handshake(ctx context.Context, auth []byte) error {
	stop := context.AfterFunc(ctx, func() { c.abort(ctx) })
	err := c.authenticate(ctx, auth)
	if err == nil {
		err = c.subscribe(ctx)
	}
	if !stop() && err == nil {
		err = fmt.Errorf("stream-sea handshake: %w", context.Cause(ctx))
	}
	c.confirmed = nil
	return err
}

func (c *Conn) authenticate(ctx context.Context, auth []byte) error {
	if err := c.send(ctx, auth); err != nil {
		return err
	}
	for {
		f, _, err := c.readFrame()
		if err != nil {
			return fmt.Errorf("stream-sea authenticate: %w", err)
		}
		switch {
		case f.ID != 1:
			c.skip("unexpected id before the authenticate answer", c.buf.Bytes())
		case f.Action != ActionAuthenticate:
			c.skip("authenticate answer with action "+f.Action, c.buf.Bytes())
		case f.Success == nil:
			c.skip("authenticate answer without success", c.buf.Bytes())
		case !*f.Success:
			return &AuthError{ClientID: c.clientID, Message: errorMessage(f)}
		default:
			return nil
		}
	}
}

func (c *Conn) subscribe(ctx context.Context) error {
	for i, sub := range c.subs {
		stream, err := json.Marshal(sub.Stream)
		if err != nil {
			return fmt.Errorf("stream-sea subscribe %q: %w", sub.Stream, err)
		}
		f := Frame{ID: uint64(i + 2), Action: ActionSubscribe, GroupID: sub.GroupID, Payload: stream}
		if err := c.send(ctx, AppendFrame(nil, &f)); err != nil {
			return err
		}
	}
	for waiting := len(c.subs); waiting > 0; {
		f, received, err := c.readFrame()
		if err != nil {
			return fmt.Errorf("stream-sea subscribe: %w", err)
		}
		wasConfirmed := c.confirmedAnswer(&f)
		if c.pending, err = c.handleFrame(&f, received, c.pending); err != nil {
			return err
		}
		if !wasConfirmed && c.confirmedAnswer(&f) {
			waiting--
		}
	}
	return nil
}

// confirmedAnswer reports whether f's subscription has been confirmed.
func (c *Conn) confirmedAnswer(f *Frame) bool {
	i := int(f.ID) - 2
	return f.ID >= 2 && i < len(c.confirmed) && c.confirmed[i]
}

// send hands one text frame to the writer and waits until it was written.
func (c *Conn) send(ctx context.Context, data []byte) error {
	req := writeRequest{data: data, done: make(chan error, 1)}
	select {
	case c.requests <- req:
	case <-c.writerDone:
		return errConnClosed
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

var errConnClosed = errors.New("stream-sea connection closed")

// writeLoop is the connection's only writer. A failed write closes the socket so that the
// reader fails too.
func (c *Conn) writeLoop() {
	defer close(c.writerDone)
	for {
		select {
		case req := <-c.requests:
			_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
			err := c.ws.WriteMessage(websocket.TextMessage, req.data)
			req.done <- err
			if err != nil {
				_ = c.ws.Close()
				return
			}
		case data := <-c.pongs:
			if err := c.ws.WriteControl(websocket.PongMessage, data, time.Now().Add(writeTimeout)); err != nil {
				_ = c.ws.Close()
				return
			}
		case <-c.closing:
			msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
			_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeTimeout))
			return
		}
	}
}

// onPing runs on the reader: it extends the read deadline and queues the pong for the writer.
// A pong already queued is enough to answer a burst of pings.
func (c *Conn) onPing(data string) error {
	now := time.Now()
	c.received.Store(now.UnixNano())
	c.extendReadDeadline(now)
	select {
	case c.pongs <- []byte(data):
	default:
	}
	return nil
}

func (c *Conn) extendReadDeadline(now time.Time) {
	c.deadlineMu.Lock()
	if !c.aborted {
		_ = c.ws.SetReadDeadline(now.Add(c.deadAfter))
	}
	c.deadlineMu.Unlock()
}

// lastReceived is when the last frame or ping was read (the dial, before any).
func (c *Conn) lastReceived() time.Time { return time.Unix(0, c.received.Load()) }

// abort makes a blocked or later read fail with ctx's cause; the connection cannot be read
// afterwards.
func (c *Conn) abort(ctx context.Context) {
	c.deadlineMu.Lock()
	c.aborted, c.abortErr = true, context.Cause(ctx)
	_ = c.ws.SetReadDeadline(time.Unix(1, 0))
	c.deadlineMu.Unlock()
}

// readFrame reads one whole message into c.buf and decodes it; Payload aliases c.buf until
// the next read. Frames that do not decode are reported and skipped.
func (c *Conn) readFrame() (Frame, time.Time, error) {
	for {
		c.extendReadDeadline(time.Now())
		_, r, err := c.ws.NextReader()
		if err == nil {
			c.buf.Reset()
			_, err = c.buf.ReadFrom(r)
		}
		if err != nil {
			return Frame{}, time.Time{}, c.readError(err)
		}
		received := time.Now()
		c.received.Store(received.UnixNano())
		f, err := DecodeFrame(c.buf.Bytes())
		if err != nil {
			c.report(err)
			continue
		}
		return f, received, nil
	}
}

func (c *Conn) readError(err error) error {
	c.deadlineMu.Lock()
	aborted, abortErr := c.aborted, c.abortErr
	c.deadlineMu.Unlock()
	if aborted {
		return abortErr
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return fmt.Errorf("%w for %s", ErrDeadConnection, c.deadAfter)
	}
	if errors.Is(err, websocket.ErrReadLimit) {
		return fmt.Errorf("stream-sea frame larger than the read limit: %w", err)
	}
	return fmt.Errorf("stream-sea read: %w", err)
}

// skip reports a frame that cannot be used (the error keeps a copy of its start).
func (c *Conn) skip(reason string, frame []byte) {
	c.report(newProtocolError(reason, frame))
}

func errorMessage(f Frame) string {
	if f.Error == nil {
		return ""
	}
	return f.Error.Message
}

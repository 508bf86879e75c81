package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seabridge/seabridge/internal/streamsea"
)

// outFrame is one text frame queued for a connection's writer. Deliveries carry their stream
// and message count so the writer can count them; closeAfter ends the connection once written;
// a non-nil ready holds the frame back until it is closed. An answerClose frame is no text
// frame: the writer sends closeMsg as the answer to the client's close frame and ends the
// connection.
type outFrame struct {
	data        []byte
	st          *stream
	n           int
	closeAfter  bool
	ready       <-chan struct{}
	answerClose bool
	closeMsg    []byte
}

// written counts a delivery frame the writer wrote.
func (f *outFrame) written() {
	if f.st != nil {
		f.st.delivered.Add(uint64(f.n))
	}
}

// lost counts a queued delivery frame that will never be written.
func (f *outFrame) lost() {
	if f.st != nil {
		f.st.dropped.Add(uint64(f.n))
	}
}

// errClientClosing is enqueue's answer for a connection whose client sent its close frame:
// the publication goes to another member of the group.
var errClientClosing = errors.New("the client is closing the connection")

// session is what a successful authentication grants.
type session struct {
	clientID, jailID string
	mustFanout       bool
	filter           *filter
}

// subscription is one subscribe request of one connection. Immutable once joined.
type subscription struct {
	conn     *wsConn
	id       uint64
	stream   *stream
	groupKey string
	filter   *filter
}

// closeWait bounds the write of a close frame before the connection is closed anyway.
const closeWait = time.Second

// Close codes and reasons the server sends when it ends a connection [E].
const (
	reasonShutdown      = "the server is shutting down" // 1001
	reasonJWTExpired    = "the JWT has expired"         // 1008
	reasonClientDeleted = "the client was deleted"      // 1008
	reasonJailDeleted   = "the jail was deleted"        // 1008
)

// wsConn is one websocket connection: the handler goroutine reads (and owns nextID and subs),
// one writer goroutine writes. Anything may call end, kill or enqueue concurrently.
type wsConn struct {
	srv  *Server
	ws   *websocket.Conn
	out  chan outFrame
	done chan struct{} // closed by end
	// closing is set, under routeMu held for writing, once the client's close frame was read;
	// enqueue holds routeMu for reading from its check of closing until its frame is queued,
	// so that no delivery is queued behind the close answer.
	routeMu sync.RWMutex
	closing atomic.Bool
	// clientClose is the code of the client's close frame, set by the close handler on the
	// reader goroutine; 0 when none was received.
	clientClose int
	// end closes the connection, once: with a close frame of code and reason (written by
	// another goroutine, at most closeWait, so that end never blocks), or abruptly, as a
	// network failure would, with code 0.
	end  func(code int, reason string)
	kill func() // end(0, "")

	sess        atomic.Pointer[session]
	nextID      uint64
	subs        []*subscription
	writerDone  chan struct{}
	expiryTimer *time.Timer
}

func newWSConn(srv *Server, ws *websocket.Conn) *wsConn {
	c := &wsConn{
		srv: srv, ws: ws,
		out:        make(chan outFrame, srv.opts.QueueSize),
		done:       make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	var once sync.Once
	c.end = func(code int, reason string) {
		once.Do(func() {
			close(c.done)
			if code == 0 {
				_ = c.ws.NetConn().Close() // unblocks the reader and the writer
				return
			}
			srv.wg.Add(1) // the connection's handler is still tracked: Close waits for this too
			go func() {
				defer srv.wg.Done()
				msg := websocket.FormatCloseMessage(code, reason)
				_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeWait))
				_ = c.ws.NetConn().Close()
			}()
		})
	}
	c.kill = func() { c.end(0, "") }
	return c
}

// serve runs the connection until it ends: it starts the writer, reads frames, and cleans up.
// Called on the HTTP handler goroutine, which the server tracks.
func (c *wsConn) serve() {
	c.srv.wg.Add(1)
	go func() {
		defer c.srv.wg.Done()
		c.writeLoop()
	}()
	defer c.cleanup()
	deadline := 2 * c.srv.opts.PingInterval
	_ = c.ws.SetReadDeadline(time.Now().Add(deadline))
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(deadline))
	})
	c.ws.SetReadLimit(c.srv.opts.MaxBodyBytes)
	c.ws.SetCloseHandler(func(code int, _ string) error {
		c.clientClose = code // answered by answerClose, after what is queued
		return nil
	})
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			c.countEnd()
			if c.clientClose != 0 {
				c.answerClose()
			}
			return
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(deadline))
		if !c.handle(data) {
			<-c.done // the writer sends the last answer, then kills the connection
			return
		}
	}
}

// countEnd counts, once its reading failed, how the client ended the connection: with a close
// frame, or without one while the server had not ended it.
func (c *wsConn) countEnd() {
	switch {
	case c.clientClose != 0:
		c.srv.clientClosed.Add(1)
	case !isClosed(c.done):
		c.srv.clientAborted.Add(1)
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// answerClose ends the connection after the client's close frame, the closing handshake of
// RFC 6455 as a server that writes every delivery to its socket at once would do it: nothing
// more is routed to the connection (its subscriptions leave their groups, publications go to
// the other members), the deliveries already queued for it are written, then the close frame
// answering the client's (echoing its code), and the TCP connection is closed.
func (c *wsConn) answerClose() {
	c.routeMu.Lock()
	c.closing.Store(true)
	c.routeMu.Unlock()
	c.leaveGroups()
	answer := outFrame{answerClose: true, closeMsg: websocket.FormatCloseMessage(c.clientClose, "")}
	select {
	case c.out <- answer:
	case <-c.done:
	}
	<-c.writerDone
}

func (c *wsConn) leaveGroups() {
	for _, sub := range c.subs {
		sub.stream.leave(sub.groupKey, sub)
	}
}

func (c *wsConn) cleanup() {
	c.kill()
	<-c.writerDone
	if c.expiryTimer != nil {
		c.expiryTimer.Stop()
	}
	c.leaveGroups()
	for {
		select {
		case f := <-c.out:
			f.lost()
		default:
			c.srv.forget(c)
			return
		}
	}
}

// writeLoop is the only writer of data frames; it also sends the pings.
func (c *wsConn) writeLoop() {
	defer close(c.writerDone)
	defer c.kill()
	ticker := time.NewTicker(c.srv.opts.PingInterval)
	defer ticker.Stop()
	writeWait := max(10*time.Second, 2*c.srv.opts.PingInterval)
	for {
		select {
		case <-c.done:
			return
		case <-ticker.C:
			if c.closing.Load() {
				continue // the client closed: only the queued frames and the answer go out
			}
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				return
			}
		case f := <-c.out:
			if f.ready != nil {
				select {
				case <-f.ready:
				case <-c.done:
					f.lost()
					return
				}
			}
			if f.answerClose {
				_ = c.ws.WriteControl(websocket.CloseMessage, f.closeMsg, time.Now().Add(closeWait))
				return
			}
			_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
			if err := c.ws.WriteMessage(websocket.TextMessage, f.data); err != nil {
				f.lost()
				return
			}
			f.written()
			if f.closeAfter {
				msg := websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "")
				_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
				return
			}
		}
	}
}

// enqueue queues a delivery for the writer, applying the slow-subscriber policy when the queue
// is full. It returns errClientClosing, queueing nothing, once the client sent its close
// frame, and errPublishTimeout only under the "block" policy.
func (c *wsConn) enqueue(f outFrame, w *blockWaiter) error {
	c.routeMu.RLock()
	defer c.routeMu.RUnlock()
	if c.closing.Load() {
		return errClientClosing
	}
	select {
	case <-c.done:
		f.st.dropped.Add(uint64(f.n))
		return nil
	default:
	}
	select {
	case c.out <- f:
		return nil
	default:
	}
	switch c.srv.opts.SlowSubscriber {
	case PolicyDisconnect:
		f.st.dropped.Add(uint64(f.n))
		c.srv.log.Warn("closing slow subscriber", "jail", f.st.jailID, "stream", f.st.name)
		c.kill() // its socket is full: a close frame could not be written

		return nil
	case PolicyBlock:
		return w.wait(c, f)
	default:
		f.st.dropped.Add(uint64(f.n))
		return nil
	}
}

// reply queues an answer frame; it waits for room, giving up when the connection ends.
func (c *wsConn) reply(f streamsea.Frame, closeAfter bool) {
	c.replyWhen(f, closeAfter, nil)
}

// replyWhen queues an answer that the writer holds back until ready is closed (nil: at once).
func (c *wsConn) replyWhen(f streamsea.Frame, closeAfter bool, ready <-chan struct{}) {
	data, err := json.Marshal(f)
	if err != nil {
		c.srv.log.Error("encode websocket answer", "err", err)
		c.kill()
		return
	}
	select {
	case c.out <- outFrame{data: data, closeAfter: closeAfter, ready: ready}:
	case <-c.done:
	}
}

func (c *wsConn) fail(id uint64, action, msg string, closeAfter bool) {
	no := false
	c.reply(streamsea.Frame{ID: id, Action: action, Success: &no, Error: &streamsea.FrameError{Message: msg}}, closeAfter)
}

// blockWaiter is the shared deadline of one publication under the "block" policy: the timer
// is created at the first full queue only, so the common path costs nothing.
type blockWaiter struct {
	timeout time.Duration
	timer   *time.Timer
	expired bool
}

func (w *blockWaiter) wait(c *wsConn, f outFrame) error {
	if w.timer == nil && !w.expired {
		w.timer = time.NewTimer(w.timeout)
	}
	if !w.expired {
		select {
		case c.out <- f:
			return nil
		case <-c.done:
			f.st.dropped.Add(uint64(f.n))
			return nil
		case <-w.timer.C:
			w.expired = true
		}
	}
	f.st.dropped.Add(uint64(f.n))
	return fmt.Errorf("%w (stream %q)", errPublishTimeout, f.st.name)
}

// stop releases the timer; called once the publication is done.
func (w *blockWaiter) stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

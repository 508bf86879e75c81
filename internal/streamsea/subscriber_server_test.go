package streamsea

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// wsTestServer is a scriptable stream-sea websocket endpoint on 127.0.0.1.
type wsTestServer struct {
	tb  testing.TB
	srv *httptest.Server

	authError    string            // non-empty: refuse authentication with this message
	subErrors    map[string]string // stream -> refusal message
	answerAction string            // action of subscribe answers; default "subscription"
	expectSubs   int               // subscribe frames to answer before the connection is ready
	// silentClose: a client's close frame is not answered, and the connection stays open
	// (the test may still deliver on it) until the test calls serverConn.release.
	silentClose bool
	closing     chan struct{} // closed by close

	accepted atomic.Int32     // websocket connections upgraded
	ready    chan *serverConn // connections authenticated with every subscription answered
	wg       sync.WaitGroup
}

// serverConn is one accepted connection. Writes may come from the test goroutine; the
// handler goroutine only reads.
type serverConn struct {
	ws      *websocket.Conn
	writeMu sync.Mutex
	mu      sync.Mutex
	frames  []Frame           // every frame the client sent, in order
	ids     map[string]uint64 // stream -> subscription id
	pongs   chan string
	closed  chan struct{} // closed when the client's side is gone
	readErr error         // why reading ended; valid once closed is closed
	// closeFrames receives the code of the client's close frame; released ends a silently
	// closed connection.
	closeFrames  chan int
	gotClose     atomic.Bool
	released     chan struct{}
	releasedOnce sync.Once
}

func newWSTestServer(tb testing.TB, expectSubs int) *wsTestServer {
	tb.Helper()
	s := &wsTestServer{tb: tb, expectSubs: expectSubs, ready: make(chan *serverConn, 16),
		answerAction: ActionSubscription, closing: make(chan struct{})}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	return s
}

func (s *wsTestServer) start() *wsTestServer {
	s.srv.Start()
	s.tb.Cleanup(s.close)
	return s
}

func (s *wsTestServer) close() {
	close(s.closing)
	s.srv.CloseClientConnections()
	s.srv.Close()
	s.wg.Wait()
}

func (s *wsTestServer) url() string { return s.srv.URL } // http://127.0.0.1:port

func (s *wsTestServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/streams" {
		http.NotFound(w, r)
		return
	}
	ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.wg.Add(1)
	defer s.wg.Done()
	s.accepted.Add(1)
	c := &serverConn{ws: ws, ids: map[string]uint64{}, pongs: make(chan string, 64), closed: make(chan struct{}),
		closeFrames: make(chan int, 1), released: make(chan struct{})}
	defer close(c.closed)
	defer ws.Close()
	ws.SetPongHandler(func(d string) error {
		select {
		case c.pongs <- d:
		default:
		}
		return nil
	})
	ws.SetCloseHandler(func(code int, _ string) error {
		c.gotClose.Store(true)
		c.closeFrames <- code
		if s.silentClose {
			return nil
		}
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(time.Second))
		return nil // as gorilla's default handler: the answer is best effort
	})
	if !s.authenticate(c) {
		return
	}
	s.readLoop(c)
	if s.silentClose && c.gotClose.Load() {
		select {
		case <-c.released:
		case <-s.closing:
		}
	}
}

// release ends a connection that silentClose keeps open after the client's close frame.
func (c *serverConn) release() { c.releasedOnce.Do(func() { close(c.released) }) }

// awaitCloseFrame waits for the client's close frame and returns its code.
func (c *serverConn) awaitCloseFrame(t testing.TB) int {
	t.Helper()
	select {
	case code := <-c.closeFrames:
		return code
	case <-time.After(5 * time.Second):
		t.Fatal("no close frame from the client within 5s")
		return 0
	}
}

// answerClose sends the server's close frame.
func (c *serverConn) answerClose(code int) error {
	return c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(time.Second))
}

func (s *wsTestServer) authenticate(c *serverConn) bool {
	f, ok := c.read()
	if !ok {
		return false
	}
	if s.authError != "" {
		c.writeJSON(map[string]any{"id": f.ID, "action": ActionAuthenticate, "success": false,
			"error": map[string]string{"message": s.authError}})
		return false
	}
	c.writeJSON(map[string]any{"id": f.ID, "action": ActionAuthenticate, "success": true,
		"payload": map[string]string{"jailId": "default"}})
	if s.expectSubs == 0 {
		s.ready <- c
	}
	return true
}

// readLoop answers subscribe frames and records everything else until the client goes away.
func (s *wsTestServer) readLoop(c *serverConn) {
	answered := 0
	for {
		f, ok := c.read()
		if !ok {
			return
		}
		if f.Action != ActionSubscribe {
			continue
		}
		var stream string
		_ = json.Unmarshal(f.Payload, &stream)
		if msg, bad := s.subErrors[stream]; bad {
			c.writeJSON(map[string]any{"id": f.ID, "action": s.answerAction, "success": false,
				"streamName": stream, "error": map[string]string{"message": msg}})
			continue
		}
		c.mu.Lock()
		c.ids[stream] = f.ID
		c.mu.Unlock()
		c.writeJSON(map[string]any{"id": f.ID, "action": s.answerAction, "success": true,
			"streamName": stream, "payload": f.ID})
		if answered++; answered == s.expectSubs {
			s.ready <- c
		}
	}
}

// next waits for the next ready connection.
func (s *wsTestServer) next(t testing.TB) *serverConn {
	t.Helper()
	select {
	case c := <-s.ready:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no client connection became ready within 5s")
		return nil
	}
}

func (c *serverConn) read() (Frame, bool) {
	_, b, err := c.ws.ReadMessage()
	if err != nil {
		c.readErr = err
		return Frame{}, false
	}
	var f Frame
	if err := json.Unmarshal(b, &f); err != nil {
		return Frame{}, false
	}
	c.mu.Lock()
	c.frames = append(c.frames, f)
	c.mu.Unlock()
	return f, true
}

func (c *serverConn) sent() []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Frame(nil), c.frames...)
}

func (c *serverConn) id(stream string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ids[stream]
}

func (c *serverConn) writeJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	_ = c.writeRaw(b)
}

func (c *serverConn) writeRaw(b []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

func (c *serverConn) ping(data string) error {
	return c.ws.WriteControl(websocket.PingMessage, []byte(data), time.Now().Add(time.Second))
}

// deliver sends one delivery frame with payload (a JSON object or array) on stream.
func (c *serverConn) deliver(stream, payload string) error {
	var b strings.Builder
	b.WriteString(`{"id":`)
	b.WriteString(jsonNumber(c.id(stream)))
	b.WriteString(`,"action":"subscription","streamName":`)
	name, _ := json.Marshal(stream)
	b.Write(name)
	b.WriteString(`,"payload":`)
	b.WriteString(payload)
	b.WriteString("}")
	return c.writeRaw([]byte(b.String()))
}

// drop closes the TCP connection without a close frame.
func (c *serverConn) drop() { _ = c.ws.NetConn().Close() }

func jsonNumber(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

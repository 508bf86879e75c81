package emulator

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	testClient = "alice"
	testSecret = "alice-secret"
)

// startServer starts an emulator with alice (default jail), bob (default jail) and carol (jail
// "other"), stopped at the end of the test.
func startServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Clients == nil {
		opts.Clients = []Client{
			{ID: testClient, Secret: testSecret},
			{ID: "bob", Secret: "bob-secret"},
			{ID: "carol", Secret: "carol-secret", JailID: "other"},
		}
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// httpClient returns a client whose idle connections are closed at the end of the test.
func httpClient(t testing.TB) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// call is one REST request.
type call struct {
	method, path string
	user, pass   string // no Authorization header when user is ""
	body         any    // []byte is sent as is; anything else is JSON-encoded
	gzip         bool
}

// answer is a decoded REST response.
type answer struct {
	status int
	raw    []byte
	json   map[string]any
}

func (a answer) message() string {
	m, _ := a.json["message"].(string)
	return m
}

func (a answer) errors() []string {
	var out []string
	list, _ := a.json["errors"].([]any)
	for _, e := range list {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

func do(t testing.TB, hc *http.Client, s *Server, c call) answer {
	t.Helper()
	var body []byte
	switch b := c.body.(type) {
	case nil:
	case []byte:
		body = b
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	if c.gzip {
		body = gzipped(t, body)
	}
	req, err := http.NewRequest(c.method, s.URL()+c.path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	if c.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, raw: raw}
	_ = json.Unmarshal(raw, &a.json)
	return a
}

// as fills in alice's credentials.
func as(c call) call {
	if c.user == "" {
		c.user, c.pass = testClient, testSecret
	}
	return c
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// publish publishes one payload as alice and fails the test unless the answer is 200.
func publish(t testing.TB, hc *http.Client, s *Server, stream string, payload any) {
	t.Helper()
	a := do(t, hc, s, as(call{method: "POST", path: "/api/v1/streams/" + stream + "/publish", body: map[string]any{"payload": payload}}))
	if a.status != http.StatusOK {
		t.Fatalf("publish to %s: %d %s", stream, a.status, a.raw)
	}
}

// wsClient is a raw websocket client that numbers its frames.
type wsClient struct {
	t    testing.TB
	conn *websocket.Conn
	id   uint64
}

func dial(t testing.TB, s *Server) *wsClient {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(s.WSURL()+"/api/v1/streams", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	resp.Body.Close()
	t.Cleanup(func() { _ = conn.Close() })
	return &wsClient{t: t, conn: conn}
}

// send writes a frame with the next id and returns that id.
func (c *wsClient) send(action string, fields map[string]any) uint64 {
	c.t.Helper()
	c.id++
	frame := map[string]any{"id": c.id, "action": action}
	for k, v := range fields {
		frame[k] = v
	}
	if err := c.conn.WriteJSON(frame); err != nil {
		c.t.Fatalf("send: %v", err)
	}
	return c.id
}

// wireFrame is a server frame as the tests read it.
type wireFrame struct {
	ID         uint64          `json:"id"`
	Action     string          `json:"action"`
	Success    *bool           `json:"success"`
	StreamName string          `json:"streamName"`
	Payload    json.RawMessage `json:"payload"`
	Error      *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// read returns the next frame, failing the test after 5 s.
func (c *wsClient) read() wireFrame {
	c.t.Helper()
	f, err := c.tryRead(5 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return f
}

func (c *wsClient) tryRead(wait time.Duration) (wireFrame, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(wait))
	_, data, err := c.conn.ReadMessage()
	if err != nil {
		return wireFrame{}, err
	}
	var f wireFrame
	if err := json.Unmarshal(data, &f); err != nil {
		c.t.Fatalf("frame %s: %v", data, err)
	}
	return f, nil
}

// expectClosed reads until the server closes the connection; frames before that fail the test.
func (c *wsClient) expectClosed() {
	c.t.Helper()
	if f, err := c.tryRead(5 * time.Second); err == nil {
		c.t.Fatalf("expected the connection to close, got frame %+v", f)
	} else if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
		c.t.Fatal("the connection stayed open")
	}
}

// expectCloseFrame reads until the server closes the connection and checks that it sent a
// close frame with code and reason; frames before it are skipped.
func (c *wsClient) expectCloseFrame(code int, reason string) {
	c.t.Helper()
	for range 10000 {
		_, err := c.tryRead(5 * time.Second)
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != code || ce.Text != reason {
			c.t.Fatalf("connection ended with %v, want a close frame %d %q", err, code, reason)
		}
		return
	}
	c.t.Fatal("the connection stayed open")
}

func (c *wsClient) authBasic(id, secret string) wireFrame {
	c.send("authenticate", map[string]any{"payload": map[string]any{"type": "basic", "clientId": id, "clientSecret": secret}})
	return c.read()
}

// login dials and authenticates as alice.
func login(t testing.TB, s *Server) *wsClient {
	c := dial(t, s)
	if f := c.authBasic(testClient, testSecret); f.Success == nil || !*f.Success {
		t.Fatalf("authenticate: %+v", f)
	}
	return c
}

// subscribe subscribes and checks the success answer; groupID "" sends none.
func (c *wsClient) subscribe(stream, groupID string) uint64 {
	c.t.Helper()
	fields := map[string]any{"payload": stream}
	if groupID != "" {
		fields["groupId"] = groupID
	}
	id := c.send("subscribe", fields)
	f := c.read()
	if f.Success == nil || !*f.Success || f.ID != id || f.Action != "subscription" || f.StreamName != stream ||
		strings.TrimSpace(string(f.Payload)) != jsonNumber(id) {
		c.t.Fatalf("subscribe answer: %+v payload %s", f, f.Payload)
	}
	return id
}

func jsonNumber(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// waitFor polls cond every 5 ms for at most 5 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// subscriptions is the number of live subscriptions on a stream of the default jail.
func subscriptions(s *Server, stream string) int {
	for _, st := range s.Stats().Streams {
		if st.Jail == DefaultJail && st.Stream == stream {
			return st.Subscriptions
		}
	}
	return 0
}

func streamStats(s *Server, jail, stream string) StreamStats {
	for _, st := range s.Stats().Streams {
		if st.Jail == jail && st.Stream == stream {
			return st
		}
	}
	return StreamStats{}
}

package emulator

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestClientCloseFrameIsAnsweredAfterWhatWasQueued: a member of a group that sends a close
// frame while the server holds deliveries for it (its socket full, more in its queue) stops
// being routed to at once, receives every delivery the server had for it, then the server's
// close frame echoing its code. What is published after its close goes to the other member,
// and nothing is dropped.
func TestClientCloseFrameIsAnsweredAfterWhatWasQueued(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	a, b := login(t, s), login(t, s)
	a.subscribe("s", groupA)
	b.subscribe("s", groupA)
	bIDs := readAll(t, b)

	// a reads nothing: once its socket is full, the server queues what is routed to it.
	pad := strings.Repeat("x", 32<<10)
	next := 0
	for queued := uint64(0); queued < 20; {
		if next == 4000 {
			t.Fatalf("published %d messages of 32 KiB, %d queued for the member that does not read", next, queued)
		}
		publish(t, hc, s, "s", map[string]any{"n": next, "pad": pad})
		next++
		st := streamStats(s, DefaultJail, "s")
		queued = st.Published - st.Delivered - st.Dropped
	}
	closeMsg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if err := a.conn.WriteControl(websocket.CloseMessage, closeMsg, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the closing member to leave its group", func() bool { return subscriptions(s, "s") == 1 })
	for range 50 {
		publish(t, hc, s, "s", map[string]any{"n": next})
		next++
	}

	var aIDs []int
	var end error
	for end == nil {
		var f wireFrame
		if f, end = a.tryRead(5 * time.Second); end == nil {
			aIDs = append(aIDs, frameN(t, f))
		}
	}
	var ce *websocket.CloseError
	if !errors.As(end, &ce) || ce.Code != websocket.CloseNormalClosure {
		t.Errorf("the closing member's connection ended with %v after %d deliveries, want the server's close frame 1000",
			end, len(aIDs))
	}
	waitFor(t, "the other member to read the rest", func() bool { return len(aIDs)+len(bIDs()) >= next })
	got := append(aIDs, bIDs()...)
	seen := make([]int, next)
	for _, n := range got {
		seen[n]++
	}
	for n, k := range seen {
		if k != 1 {
			t.Errorf("message %d received %d times, want once", n, k)
		}
	}
	for _, n := range aIDs {
		if n >= next-50 {
			t.Errorf("message %d, published after the close frame, went to the closing member", n)
		}
	}
	if st := streamStats(s, DefaultJail, "s"); st.Dropped != 0 || st.Delivered != uint64(next) {
		t.Errorf("stats %+v, want %d delivered, none dropped", st, next)
	}
}

// readAll reads c's deliveries in the background until its connection ends (at the end of
// the test at the latest); the returned function gives the "n" of each read so far, in order.
func readAll(t *testing.T, c *wsClient) func() []int {
	var (
		mu  sync.Mutex
		ids []int
	)
	go func() {
		for {
			f, err := c.tryRead(time.Minute)
			if err != nil {
				return
			}
			n := frameN(t, f)
			mu.Lock()
			ids = append(ids, n)
			mu.Unlock()
		}
	}()
	return func() []int {
		mu.Lock()
		defer mu.Unlock()
		return append([]int(nil), ids...)
	}
}

func frameN(t *testing.T, f wireFrame) int {
	t.Helper()
	var msg struct{ N int }
	if err := json.Unmarshal(f.Payload, &msg); err != nil {
		t.Errorf("delivery %+v: %v", f, err)
	}
	return msg.N
}

// TestStatsCountHowClientsEnded: a client's close frame counts in clientClosed, a client that
// drops its TCP connection in clientAborted, and a connection the server ends in neither.
func TestStatsCountHowClientsEnded(t *testing.T) {
	s := startServer(t, Options{})
	closer, dropper := login(t, s), login(t, s)
	closeMsg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if err := closer.conn.WriteControl(websocket.CloseMessage, closeMsg, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	closer.expectCloseFrame(websocket.CloseNormalClosure, "")
	_ = dropper.conn.NetConn().Close()
	ended := dial(t, s)
	ended.send("subscribe", map[string]any{"payload": map[string]any{"stream": "s"}}) // before authenticating: the server ends it
	if f := ended.read(); f.Error == nil {
		t.Fatalf("a subscribe before authenticating was answered %+v, want an error", f)
	}
	ended.expectClosed()
	waitFor(t, "every connection to end", func() bool { return s.Stats().Connections == 0 })
	if st := s.Stats(); st.ClientClosed != 1 || st.ClientAborted != 1 {
		t.Fatalf("clientClosed %d, clientAborted %d; want 1 and 1", st.ClientClosed, st.ClientAborted)
	}
}

package emulator

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// bigPayload is large enough that a client that does not read fills its socket buffers after
// a few dozen messages.
var bigPayload = map[string]any{"blob": strings.Repeat("x", 256<<10)}

// publishUntil publishes bigPayload until stop returns true or 200 publishes were made, and
// returns the last status.
func publishUntil(t *testing.T, hc *http.Client, s *Server, stop func(status int) bool) int {
	t.Helper()
	for range 200 {
		a := do(t, hc, s, as(call{method: "POST", path: "/api/v1/streams/s/publish", body: map[string]any{"payload": bigPayload}}))
		if stop(a.status) {
			return a.status
		}
		if a.status != http.StatusOK && a.status != http.StatusServiceUnavailable {
			t.Fatalf("publish: %d %s", a.status, a.raw)
		}
	}
	t.Fatal("the condition never held in 200 publishes")
	return 0
}

func TestSlowSubscriberDrop(t *testing.T) {
	s := startServer(t, Options{QueueSize: 2})
	hc := httpClient(t)
	slow := login(t, s)
	slow.subscribe("s", "")
	publishUntil(t, hc, s, func(status int) bool {
		if status != http.StatusOK {
			t.Fatalf("publish failed with %d under the drop policy", status)
		}
		return streamStats(s, DefaultJail, "s").Dropped > 0
	})
	if s.Stats().Connections != 1 {
		t.Fatal("the drop policy closed the connection")
	}
	// Every published message is delivered, dropped or still queued (at most QueueSize+1,
	// counting the one being written).
	st := streamStats(s, DefaultJail, "s")
	if inFlight := st.Published - st.Delivered - st.Dropped; inFlight > 3 {
		t.Fatalf("stats %+v: %d unaccounted", st, inFlight)
	}
	_ = slow.conn.Close()
	waitFor(t, "the connection to end", func() bool { return s.Stats().Connections == 0 })
	st = streamStats(s, DefaultJail, "s")
	if st.Published != st.Delivered+st.Dropped {
		t.Fatalf("after close: %+v, want published = delivered + dropped", st)
	}
}

func TestSlowSubscriberDisconnect(t *testing.T) {
	s := startServer(t, Options{QueueSize: 2, SlowSubscriber: PolicyDisconnect})
	hc := httpClient(t)
	slow := login(t, s)
	slow.subscribe("s", "")
	publishUntil(t, hc, s, func(status int) bool {
		if status != http.StatusOK {
			t.Fatalf("publish failed with %d under the disconnect policy", status)
		}
		return s.Stats().Connections == 0
	})
	for range 1000 { // drain what the socket buffered; then the close shows
		if _, err := slow.tryRead(5 * time.Second); err != nil {
			return
		}
	}
	t.Fatal("the slow connection was not closed")
}

func TestSlowSubscriberBlock(t *testing.T) {
	const timeout = 200 * time.Millisecond
	s := startServer(t, Options{QueueSize: 1, SlowSubscriber: PolicyBlock, BlockTimeout: timeout})
	hc := httpClient(t)
	slow := login(t, s)
	slow.subscribe("s", "")
	publishUntil(t, hc, s, func(status int) bool { return status == http.StatusServiceUnavailable })
	start := time.Now()
	a := do(t, hc, s, as(call{method: "POST", path: "/api/v1/streams/s/publish", body: map[string]any{"payload": bigPayload}}))
	if a.status != http.StatusServiceUnavailable || time.Since(start) < timeout {
		t.Fatalf("publish to a full queue: %d after %v, want 503 after at least %v", a.status, time.Since(start), timeout)
	}
	if s.Stats().Connections != 1 {
		t.Fatal("the block policy closed the connection")
	}
	// Once the subscriber reads, publishing succeeds again.
	go func() {
		for {
			if _, err := slow.tryRead(2 * time.Second); err != nil {
				return
			}
		}
	}()
	// The reader may need more than one BlockTimeout to drain the socket on a loaded machine.
	status := 0
	for range 50 {
		a := do(t, hc, s, as(call{method: "POST", path: "/api/v1/streams/s/publish", body: map[string]any{"payload": map[string]any{"small": true}}}))
		if status = a.status; status != http.StatusServiceUnavailable {
			break
		}
	}
	if status != http.StatusOK {
		t.Fatalf("publish after the subscriber started reading: %d", status)
	}
	_ = slow.conn.Close()
}

func TestUndeliveredCountedAndLogged(t *testing.T) {
	var logs syncBuffer
	s := startServer(t, Options{QueueSize: 2, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	hc := httpClient(t)
	publish(t, hc, s, "s", map[string]any{"n": 1})
	publish(t, hc, s, "s", []any{map[string]any{"n": 2}, map[string]any{"n": 3}})
	if st := streamStats(s, DefaultJail, "s"); st.Published != 3 || st.Unrouted != 3 || st.Delivered+st.Dropped != 0 {
		t.Fatalf("no subscriber: stats %+v, want 3 published and 3 unrouted", st)
	}

	c := login(t, s)
	c.subscribe("s", "")
	publish(t, hc, s, "s", map[string]any{"n": 4})
	c.read()
	// delivered counts once the write returned, which may be after the client has read it
	waitFor(t, "the delivery to be counted", func() bool { return streamStats(s, DefaultJail, "s").Delivered == 1 })
	if st := streamStats(s, DefaultJail, "s"); st.Published != 4 || st.Unrouted != 3 || st.Delivered != 1 {
		t.Fatalf("with a subscriber: stats %+v, want 4 published, 3 unrouted, 1 delivered", st)
	}
	// A subscriber that stops reading: its queue fills and the rest is dropped.
	publishUntil(t, hc, s, func(int) bool { return streamStats(s, DefaultJail, "s").Dropped > 0 })
	dropped := streamStats(s, DefaultJail, "s").Dropped

	_ = s.Close() // the last report is written once every connection is gone
	st := streamStats(s, DefaultJail, "s")
	lines := strings.Count(logs.String(), "stream-sea keeps no backlog")
	if lines == 0 || lines > 2 {
		t.Fatalf("%d loss reports, want 1 or 2 (a periodic one may come first):\n%s", lines, logs.String())
	}
	for _, want := range []string{"unrouted_total=3", fmt.Sprintf("dropped_total=%d", st.Dropped)} {
		if !strings.Contains(logs.String(), want) {
			t.Fatalf("the loss reports do not say %s:\n%s", want, logs.String())
		}
	}
	if st.Dropped < dropped {
		t.Fatalf("dropped went down: %d, then %d", dropped, st.Dropped)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines and the test's.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

package streamsea

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// awaitPaused waits until the subscriber's reader waits for room.
func awaitPaused(t *testing.T, sub *Subscriber) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !sub.Window().Paused; {
		if time.Now().After(deadline) {
			t.Fatalf("reading not paused: %+v", sub.Window())
		}
		time.Sleep(5 * time.Millisecond) // the reader fills its window; nothing to await
	}
}

// awaitConnected waits until Connected reports want, failing the test after timeout.
func awaitConnected(t *testing.T, sub *Subscriber, want bool, timeout time.Duration, what string) {
	t.Helper()
	for deadline := time.Now().Add(timeout); sub.Connected() != want; {
		if time.Now().After(deadline) {
			t.Fatalf("Connected() = %v %s, want %v within %v", !want, what, want, timeout)
		}
		time.Sleep(10 * time.Millisecond) // Connected has no signal to await
	}
}

// TestSubscriberSeesACloseWhileReadingIsPaused closes the server's side while the reader
// waits for room (frames unread in the socket): the subscriber must report the connection
// lost at once, long before DeadAfter, then, once room frees, read what the server sent before
// closing, log the close code, and reconnect.
func TestSubscriberSeesACloseWhileReadingIsPaused(t *testing.T) {
	srv := newWSTestServer(t, 1).start()
	opts := testOptions(srv.url(), Subscription{Stream: "a"})
	opts.MaxHeld = 2
	opts.DeadAfter = time.Minute
	var disconnects atomic.Int32
	opts.Hooks.OnDisconnect = func(error) { disconnects.Add(1) }
	var logs syncLog
	sub, _ := runSubscriberLogging(t, opts, slog.New(slog.NewTextHandler(&logs, nil)))
	sc := srv.next(t)
	for _, p := range []string{`{"n":1}`, `{"n":2}`, `{"n":3}`} {
		if err := sc.deliver("a", p); err != nil {
			t.Fatal(err)
		}
	}
	awaitPaused(t, sub)
	_ = sc.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseGoingAway, "server restarting"), time.Now().Add(time.Second))
	sc.drop()
	awaitConnected(t, sub, false, 5*time.Second, "after the server closed while reading was paused")
	if n := disconnects.Load(); n != 1 {
		t.Fatalf("OnDisconnect called %d times, want 1", n)
	}
	got := nextN(t, sub, 3) // releases each: the reader reads the third frame, then the close
	if got[2].Stream != "a" || string(got[2].Payload) != `{"n":3}` {
		t.Fatalf("third delivery %+v", got[2])
	}
	srv.next(t)
	awaitConnected(t, sub, true, 5*time.Second, "after the reconnect")
	if n := disconnects.Load(); n != 1 {
		t.Fatalf("OnDisconnect called %d times for one lost connection, want 1", n)
	}
	for _, want := range []string{"while reading was paused", "close_code=1001", `close_reason="server restarting"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs do not contain %q:\n%s", want, logs.String())
		}
	}
}

// syncLog is a log destination safe for concurrent writers.
type syncLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestSubscriberNotReadForDeadAfterIsNotConnected pauses the reader on a server that is alive
// (it pings) but cannot be read: after DeadAfter without reading a frame the connection's
// state is unknown and must not be reported as connected; once reading resumes and a frame
// or ping is read, it is connected again, without a reconnect.
func TestSubscriberNotReadForDeadAfterIsNotConnected(t *testing.T) {
	srv := newWSTestServer(t, 1).start()
	opts := testOptions(srv.url(), Subscription{Stream: "a"})
	opts.MaxHeld = 1
	opts.DeadAfter = 500 * time.Millisecond
	var connects atomic.Int32
	opts.Hooks.OnConnect = func() { connects.Add(1) }
	sub, _ := runSubscriber(t, opts)
	sc := srv.next(t)
	stopPings := make(chan struct{})
	pingsDone := make(chan struct{})
	go func() {
		defer close(pingsDone)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopPings:
				return
			case <-tick.C:
				if sc.ping("alive") != nil {
					return
				}
			}
		}
	}()
	defer func() { close(stopPings); <-pingsDone }()
	if err := sc.deliver("a", `{"n":1}`); err != nil {
		t.Fatal(err)
	}
	awaitPaused(t, sub)
	awaitConnected(t, sub, false, 10*time.Second, "while not read for DeadAfter")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := sub.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sub.Release(d)
	awaitConnected(t, sub, true, 5*time.Second, "once reading resumed on a live connection")
	if n := connects.Load(); n != 1 {
		t.Fatalf("%d connections, want the first one only", n)
	}
}

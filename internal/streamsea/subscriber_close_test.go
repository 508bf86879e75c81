package streamsea

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/seabridge/seabridge/internal/backoff"
)

// startRun runs sub in the background; the channel receives Run's result. Run is cancelled
// at the end of the test.
func startRun(t *testing.T, sub *Subscriber) chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			done <- err
		case <-time.After(5 * time.Second):
			t.Error("Run did not return within 5s of cancel")
		}
	})
	return done
}

// awaitRun waits at most within for Run's result.
func awaitRun(t *testing.T, done chan error, within time.Duration, what string) error {
	t.Helper()
	select {
	case err := <-done:
		done <- err // for the cleanup
		return err
	case <-time.After(within):
		t.Fatalf("Run did not return within %v %s", within, what)
		return nil
	}
}

// drainAll reads every delivery until Next reports the stop, releasing each.
func drainAll(t *testing.T, sub *Subscriber) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got []string
	for {
		d, err := sub.Next(ctx)
		if err != nil {
			if !errors.Is(err, ErrSubscriberStopped) {
				t.Fatalf("Next: %v, want ErrSubscriberStopped after the deliveries", err)
			}
			return got
		}
		sub.Release(d)
		got = append(got, string(d.Payload))
	}
}

// TestSubscriberStopReadsUntilTheServerAnswers: Stop sends a close frame (1000) and the
// subscriber keeps every delivery the server sends until the server's close frame, even with
// the window full when it stops; then Run returns nil, long before CloseWait.
func TestSubscriberStopReadsUntilTheServerAnswers(t *testing.T) {
	srv := newWSTestServer(t, 1)
	srv.silentClose = true
	srv.start()
	opts := testOptions(srv.url(), Subscription{Stream: "a"})
	opts.MaxHeld = 2
	opts.CloseWait = time.Minute
	sub, err := NewSubscriber(opts, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	done := startRun(t, sub)
	sc := srv.next(t)
	for _, p := range []string{`{"n":1}`, `{"n":2}`, `{"n":3}`} {
		if err := sc.deliver("a", p); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); !sub.Window().Paused; {
		if time.Now().After(deadline) {
			t.Fatalf("window %+v: the reader did not pause at MaxHeld within 5s", sub.Window())
		}
		time.Sleep(5 * time.Millisecond) // the reader fills the window; nothing to await
	}
	sub.Stop()
	if code := sc.awaitCloseFrame(t); code != websocket.CloseNormalClosure {
		t.Errorf("close frame code %d, want %d", code, websocket.CloseNormalClosure)
	}
	for _, p := range []string{`{"n":4}`, `[{"n":5},{"n":6}]`} {
		if err := sc.deliver("a", p); err != nil {
			t.Fatal(err)
		}
	}
	if err := sc.answerClose(websocket.CloseNormalClosure); err != nil {
		t.Fatal(err)
	}
	got := drainAll(t, sub)
	want := []string{`{"n":1}`, `{"n":2}`, `{"n":3}`, `{"n":4}`, `{"n":5}`, `{"n":6}`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("deliveries %q, want %q", got, want)
	}
	if err := awaitRun(t, done, 5*time.Second, "after the server answered the close frame"); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	sc.release()
	select {
	case <-sc.closed:
	case <-time.After(5 * time.Second):
		t.Error("the subscriber did not close the TCP connection after the server's close frame")
	}
	if n := srv.accepted.Load(); n != 1 {
		t.Errorf("%d connections, want 1: Stop must not reconnect", n)
	}
}

// TestSubscriberStopGivesUpAfterCloseWait: a server that never answers the close frame keeps
// the subscriber reading for CloseWait only: what it sent meanwhile is kept, Run returns nil,
// and a warning says the server did not answer.
func TestSubscriberStopGivesUpAfterCloseWait(t *testing.T) {
	srv := newWSTestServer(t, 1)
	srv.silentClose = true
	srv.start()
	opts := testOptions(srv.url(), Subscription{Stream: "a"})
	opts.CloseWait = 300 * time.Millisecond
	var logs syncLog
	sub, err := NewSubscriber(opts, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	done := startRun(t, sub)
	sc := srv.next(t)
	defer sc.release()
	sub.Stop()
	sc.awaitCloseFrame(t)
	if err := sc.deliver("a", `{"n":1}`); err != nil {
		t.Fatal(err)
	}
	if err := awaitRun(t, done, 5*time.Second, "with a server that never answers"); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if got := drainAll(t, sub); !reflect.DeepEqual(got, []string{`{"n":1}`}) {
		t.Errorf("deliveries %q, want the one sent after the close frame", got)
	}
	if !strings.Contains(logs.String(), "closing handshake not over within the close wait") {
		t.Errorf("no warning about the unanswered close frame:\n%s", logs.String())
	}
}

// TestSubscriberStopWithoutConnection: Stop before Run, and Stop while Run waits to
// reconnect, end Run at once.
func TestSubscriberStopWithoutConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	_ = ln.Close() // nothing listens there: every dial fails
	opts := testOptions(url, Subscription{Stream: "a"})
	opts.Backoff = backoff.Policy{Initial: time.Minute, Max: time.Minute}

	before, err := NewSubscriber(opts, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	before.Stop()
	if err := awaitRun(t, startRun(t, before), 5*time.Second, "when stopped before it ran"); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}

	waiting := make(chan struct{}, 1)
	opts.Hooks.OnReconnectWait = func(int, time.Duration, error) { waiting <- struct{}{} }
	during, err := NewSubscriber(opts, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	done := startRun(t, during)
	select {
	case <-waiting:
	case <-time.After(5 * time.Second):
		t.Fatal("the dial did not fail within 5s")
	}
	during.Stop()
	if err := awaitRun(t, done, 5*time.Second, "when stopped while waiting a minute to reconnect"); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if _, err := during.Next(context.Background()); !errors.Is(err, ErrSubscriberStopped) {
		t.Errorf("Next = %v, want ErrSubscriberStopped", err)
	}
}

package inspect

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/seabridge/seabridge/internal/streamsea"
	"github.com/seabridge/seabridge/internal/streamsea/emulator"
	"github.com/seabridge/seabridge/internal/testkit/emulatortest"
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func subscriberOf(env *emulatortest.Env, secret string) streamsea.SubscriberOptions {
	return streamsea.SubscriberOptions{URL: env.URL, ClientID: env.ClientID, ClientSecret: secret, DialTimeout: 5 * time.Second}
}

func restOf(t *testing.T, env *emulatortest.Env) *streamsea.Client {
	t.Helper()
	c, err := streamsea.NewClient(streamsea.ClientOptions{BaseURL: env.URL, ClientID: env.ClientID, ClientSecret: env.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// startTail runs TailStreamsea in a goroutine and waits until it is subscribed.
func startTail(t *testing.T, ctx context.Context, env *emulatortest.Env, tail StreamseaTail, c *collector) <-chan error {
	t.Helper()
	return startTailLogged(t, ctx, env, tail, c, discard())
}

func startTailLogged(t *testing.T, ctx context.Context, env *emulatortest.Env, tail StreamseaTail, c *collector, logger *slog.Logger) <-chan error {
	t.Helper()
	ready := make(chan struct{})
	tail.Ready = func() { close(ready) }
	done := make(chan error, 1)
	go func() { done <- TailStreamsea(ctx, subscriberOf(env, env.ClientSecret), tail, logger, c.print) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("TailStreamsea returned before it was subscribed: %v", err)
	}
	return done
}

func TestStreamseaSendThenTail(t *testing.T) {
	env := emulatortest.Start(t, emulator.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	// Two tails, each in a group of its own: each sees every message.
	var a, b collector
	doneA := startTail(t, ctx, env, StreamseaTail{Stream: "s", Count: 1200}, &a)
	doneB := startTail(t, ctx, env, StreamseaTail{Stream: "s", Count: 1200}, &b)
	n, err := SendStreamsea(ctx, restOf(t, env), "s", false, strings.NewReader(lines(0, 1200)))
	if err != nil || n != 1200 {
		t.Fatalf("SendStreamsea = %d, %v; want 1200 (three batches), nil", n, err)
	}
	for _, done := range []<-chan error{doneA, doneB} {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	want := sortedLines(0, 1200)
	if !slices.Equal(a.values(), want) || !slices.Equal(b.values(), want) {
		t.Fatalf("tails saw %d and %d messages, want all 1200 each", len(a.values()), len(b.values()))
	}
	if a.recs[0].Stream != "s" || a.recs[0].Time == nil {
		t.Fatalf("record %+v: want its stream and time", a.recs[0])
	}

	// Two tails in one group share the stream.
	group := uuid.NewString()
	var c, d collector
	tctx, tcancel := context.WithCancel(ctx)
	doneC := startTail(t, tctx, env, StreamseaTail{Stream: "s", Group: group}, &c)
	doneD := startTail(t, tctx, env, StreamseaTail{Stream: "s", Group: group}, &d)
	if _, err := SendStreamsea(ctx, restOf(t, env), "s", false, strings.NewReader(lines(0, 10))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(testTimeout)
	for len(c.values())+len(d.values()) < 10 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	tcancel()
	<-doneC
	<-doneD
	if got := append(c.values(), d.values()...); len(got) != 10 {
		t.Fatalf("two tails of one group received %d messages, want the 10 once", len(got))
	}
}

func TestStreamseaSendNamesTheRefusedLine(t *testing.T) {
	env := emulatortest.Start(t, emulator.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	rest := restOf(t, env)
	if _, err := rest.DefineStream(ctx, &streamsea.Schema{Name: "typed", Version: 1,
		Fields: []streamsea.Field{{Name: "n", Type: "integer"}}}); err != nil {
		t.Fatal(err)
	}
	var got collector
	done := startTail(t, ctx, env, StreamseaTail{Stream: "typed", Count: 2}, &got)
	input := `{"n":1}` + "\n" + `{"n":2}` + "\n" + `{"n":"three"}` + "\n" + `{"n":4}` + "\n"
	n, err := SendStreamsea(ctx, rest, "typed", false, strings.NewReader(input))
	var api *streamsea.APIError
	if n != 2 || !errors.As(err, &api) || !strings.HasPrefix(err.Error(), "line 3: ") {
		t.Fatalf("SendStreamsea = %d, %v; want 2 sent and the stream-sea error of line 3", n, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.values(), []string{`{"n":1}`, `{"n":2}`}) {
		t.Fatalf("the stream received %v, want the two lines before the refused one", got.values())
	}

	var ie *InputError
	if n, err := SendStreamsea(ctx, rest, "typed", false, strings.NewReader("{\"n\":5}\n[1]\n")); n != 1 || !errors.As(err, &ie) || ie.Line != 2 {
		t.Fatalf("a line that is not an object: %d, %v; want 1 sent and an InputError of line 2", n, err)
	}
}

func TestStreamseaTailFailsAtOnce(t *testing.T) {
	env := emulatortest.Start(t, emulator.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	start := time.Now()
	err := TailStreamsea(ctx, subscriberOf(env, "wrong-secret"), StreamseaTail{Stream: "s"}, discard(), (&collector{}).print)
	if !errors.Is(err, streamsea.ErrAuthFailed) {
		t.Errorf("wrong secret: %v, want ErrAuthFailed", err)
	}
	down := streamsea.SubscriberOptions{URL: "http://127.0.0.1:1", ClientID: "c", ClientSecret: "s", DialTimeout: time.Second}
	err = TailStreamsea(ctx, down, StreamseaTail{Stream: "s"}, discard(), (&collector{}).print)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("unreachable server: %v, want an error naming it", err)
	}
	if time.Since(start) > testTimeout/2 {
		t.Errorf("the failures took %v: a tail must not retry a first connection", time.Since(start))
	}
	if _, err := SendStreamsea(ctx, restOf(t, env), "s", false, io.MultiReader()); err != nil {
		t.Errorf("sending nothing: %v", err)
	}
}

// TestStreamseaTailClosesWithHandshake: whether it stops after Count messages or because
// its context ended, a tail ends its connection with the closing handshake: the server sees
// the client's close frame (never a dropped connection), and the tail waits for its answer.
func TestStreamseaTailClosesWithHandshake(t *testing.T) {
	for _, c := range []struct {
		name  string
		count int
	}{{"after Count messages", 3}, {"at the end of its context", 0}} {
		t.Run(c.name, func(t *testing.T) {
			env := emulatortest.Start(t, emulator.Options{})
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			tctx, tcancel := context.WithCancel(ctx)
			defer tcancel()
			var got collector
			logs := &messageLog{}
			done := startTailLogged(t, tctx, env, StreamseaTail{Stream: "s", Count: c.count}, &got, slog.New(logs))
			if _, err := SendStreamsea(ctx, restOf(t, env), "s", false, strings.NewReader(lines(0, 3))); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(testTimeout); len(got.values()) < 3 && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			if c.count == 0 {
				tcancel()
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if n := len(got.values()); n != 3 {
				t.Fatalf("the tail printed %d messages, want 3", n)
			}
			// The server counts the client's close before it answers it, and the tail
			// returns once it has the answer.
			if st := env.Server.Stats(); st.ClientClosed != 1 || st.ClientAborted != 0 {
				t.Fatalf("emulator: %d connection(s) closed by the client, %d dropped; want 1 and 0", st.ClientClosed, st.ClientAborted)
			}
			if !logs.has("stream-sea answered the close frame") {
				t.Fatalf("the tail did not wait for the server's close frame; it logged %q", logs.messages())
			}
		})
	}
}

// messageLog is a slog.Handler that keeps the messages of every record, at every level.
type messageLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *messageLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *messageLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *messageLog) WithGroup(string) slog.Handler            { return l }
func (l *messageLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}

func (l *messageLog) messages() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.msgs)
}

func (l *messageLog) has(msg string) bool { return slices.Contains(l.messages(), msg) }

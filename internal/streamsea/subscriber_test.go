package streamsea

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/seabridge/seabridge/internal/backoff"
)

const (
	testGroup  = "6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"
	testGroup2 = "A0B1C2D3-E4F5-4A6B-8C7D-9E0F1A2B3C4D"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testOptions(url string, subs ...Subscription) SubscriberOptions {
	return SubscriberOptions{
		URL: url, ClientID: "bridge", ClientSecret: "s3cret", Subscriptions: subs,
		Backoff:     backoff.Policy{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		DialTimeout: 2 * time.Second,
	}
}

// runSubscriber starts Run and returns a function that cancels it and returns Run's error.
func runSubscriber(t *testing.T, opts SubscriberOptions) (*Subscriber, func() error) {
	t.Helper()
	return runSubscriberLogging(t, opts, discardLogger())
}

// runSubscriberLogging is runSubscriber with the subscriber logging to logger.
func runSubscriberLogging(t *testing.T, opts SubscriberOptions, logger *slog.Logger) (*Subscriber, func() error) {
	t.Helper()
	sub, err := NewSubscriber(opts, logger)
	if err != nil {
		t.Fatalf("NewSubscriber: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(5 * time.Second):
				t.Error("Run did not return within 5s of cancel")
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return sub, stop
}

func nextN(t *testing.T, sub *Subscriber, n int) []Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out := make([]Delivery, 0, n)
	for range n {
		d, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("Next after %d deliveries: %v", len(out), err)
		}
		sub.Release(d)
		out = append(out, d)
	}
	return out
}

func payloads(ds []Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Stream + ":" + string(d.Payload)
	}
	return out
}

// decoded turns a frame into a generic JSON value for comparisons independent of key order.
func decoded(t *testing.T, f Frame) map[string]any {
	t.Helper()
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func mustJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return m
}

func TestDialConnSendsProtocolFrames(t *testing.T) {
	jwt := func(context.Context) (string, error) { return "eyJ.token.sig", nil }
	tests := []struct {
		name         string
		jwt          func(context.Context) (string, error)
		answerAction string
		wantAuth     string
	}{
		{"basic, subscription answers", nil, ActionSubscription,
			`{"id":1,"action":"authenticate","payload":{"type":"basic","clientId":"bridge","clientSecret":"s3cret"}}`},
		{"basic, subscribe answers", nil, ActionSubscribe,
			`{"id":1,"action":"authenticate","payload":{"type":"basic","clientId":"bridge","clientSecret":"s3cret"}}`},
		{"jwt", jwt, ActionSubscription,
			`{"id":1,"action":"authenticate","payload":{"type":"jwt","clientId":"bridge","jwt":"eyJ.token.sig"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newWSTestServer(t, 3)
			srv.answerAction = tt.answerAction
			srv.start()
			opts := testOptions(srv.url(), Subscription{Stream: "boiler", GroupID: testGroup},
				Subscription{Stream: "boiler", GroupID: testGroup2}, Subscription{Stream: "ports"})
			opts.JWT = tt.jwt
			conn, err := DialConn(context.Background(), opts, discardLogger())
			if err != nil {
				t.Fatalf("DialConn: %v", err)
			}
			defer conn.Close()
			sc := srv.next(t)
			want := []map[string]any{
				mustJSON(t, tt.wantAuth),
				mustJSON(t, `{"id":2,"action":"subscribe","payload":"boiler","groupId":"`+testGroup+`"}`),
				mustJSON(t, `{"id":3,"action":"subscribe","payload":"boiler","groupId":"`+testGroup2+`"}`),
				mustJSON(t, `{"id":4,"action":"subscribe","payload":"ports"}`),
			}
			var got []map[string]any
			for _, f := range sc.sent() {
				got = append(got, decoded(t, f))
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("client frames:\n got  %v\n want %v", got, want)
			}
			if err := sc.deliver("ports", `{"n":1}`); err != nil {
				t.Fatal(err)
			}
			ds, err := conn.ReadDelivery(context.Background(), nil)
			if err != nil || len(ds) != 1 || ds[0].Stream != "ports" || string(ds[0].Payload) != `{"n":1}` {
				t.Fatalf("ReadDelivery = %v, %v", payloads(ds), err)
			}
		})
	}
}

func TestSubscriberSplitsBatchesInOrder(t *testing.T) {
	srv := newWSTestServer(t, 2).start()
	sub, _ := runSubscriber(t, testOptions(srv.url(), Subscription{Stream: "a"}, Subscription{Stream: "b"}))
	sc := srv.next(t)
	frames := []struct{ stream, payload string }{
		{"a", `{"n":1}`},
		{"b", ` [ {"n":2}, {"n":3,"x":[1,2]} , {"n":4} ]`},
		{"a", `[]`},
		{"a", `{"n":5}`},
	}
	for _, f := range frames {
		if err := sc.deliver(f.stream, f.payload); err != nil {
			t.Fatal(err)
		}
	}
	got := payloads(nextN(t, sub, 5))
	want := []string{`a:{"n":1}`, `b:{"n":2}`, `b:{"n":3,"x":[1,2]}`, `b:{"n":4}`, `a:{"n":5}`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("deliveries:\n got  %q\n want %q", got, want)
	}
}

func TestSubscriberSkipsProtocolGarbage(t *testing.T) {
	garbage := []string{
		`not json at all`,
		`[1,2,3]`,
		`{"id":99,"action":"subscription","payload":{"n":0}}`,
		`{"id":2,"action":"publish","payload":{"n":0}}`,
		`{"id":2,"action":"subscription","payload":"a string"}`,
		`{"id":2,"action":"subscription"}`,
		`{"id":1,"action":"authenticate","success":true}`,
	}
	srv := newWSTestServer(t, 1).start()
	var protocolErrs atomic.Int32
	opts := testOptions(srv.url(), Subscription{Stream: "a"})
	opts.Hooks.OnProtocolError = func(err error) {
		if !errors.Is(err, ErrProtocol) {
			t.Errorf("protocol error %v does not match ErrProtocol", err)
		}
		protocolErrs.Add(1)
	}
	sub, _ := runSubscriber(t, opts)
	sc := srv.next(t)
	for _, g := range garbage {
		if err := sc.writeRaw([]byte(g)); err != nil {
			t.Fatal(err)
		}
	}
	if err := sc.deliver("a", `{"ok":true}`); err != nil {
		t.Fatal(err)
	}
	got := payloads(nextN(t, sub, 1))
	if got[0] != `a:{"ok":true}` {
		t.Fatalf("delivery = %q", got[0])
	}
	if n := protocolErrs.Load(); n != int32(len(garbage)) {
		t.Fatalf("OnProtocolError called %d times, want %d", n, len(garbage))
	}
	if n := srv.accepted.Load(); n != 1 || !sub.Connected() {
		t.Fatalf("garbage caused a reconnect: %d connections, connected=%v", n, sub.Connected())
	}
}

func TestSubscriberReconnectsAndResubscribes(t *testing.T) {
	srv := newWSTestServer(t, 1).start()
	var connects, disconnects, waits atomic.Int32
	opts := testOptions(srv.url(), Subscription{Stream: "a", GroupID: testGroup})
	opts.Hooks = Hooks{
		OnConnect:       func() { connects.Add(1) },
		OnDisconnect:    func(error) { disconnects.Add(1) },
		OnReconnectWait: func(int, time.Duration, error) { waits.Add(1) },
	}
	sub, _ := runSubscriber(t, opts)
	first := srv.next(t)
	if err := first.deliver("a", `{"n":1}`); err != nil {
		t.Fatal(err)
	}
	nextN(t, sub, 1)
	first.drop()
	second := srv.next(t)
	if err := second.deliver("a", `{"n":2}`); err != nil {
		t.Fatal(err)
	}
	if got := payloads(nextN(t, sub, 1)); got[0] != `a:{"n":2}` {
		t.Fatalf("after reconnect got %q", got[0])
	}
	want := mustJSON(t, `{"id":2,"action":"subscribe","payload":"a","groupId":"`+testGroup+`"}`)
	if got := decoded(t, second.sent()[1]); !reflect.DeepEqual(got, want) {
		t.Fatalf("re-subscribe frame %v, want %v", got, want)
	}
	if connects.Load() != 2 || disconnects.Load() != 1 || waits.Load() != 1 {
		t.Fatalf("hooks: connects=%d disconnects=%d reconnect waits=%d, want 2/1/1",
			connects.Load(), disconnects.Load(), waits.Load())
	}
}

// A connection that authenticates and subscribes, then drops at once, is reconnected after
// the initial delay every time: the backoff must not grow for a flapping connection.
func TestSubscriberBackoffRestartsAfterEverySuccessfulConnection(t *testing.T) {
	srv := newWSTestServer(t, 1).start()
	attempts := make(chan int, 16)
	opts := testOptions(srv.url(), Subscription{Stream: "a"})
	opts.Hooks = Hooks{OnReconnectWait: func(attempt int, _ time.Duration, _ error) { attempts <- attempt }}
	runSubscriber(t, opts)
	for i := range 4 {
		srv.next(t).drop()
		select {
		case got := <-attempts:
			if got != 1 {
				t.Fatalf("reconnect %d after a successful connection is attempt %d, want 1", i+1, got)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no reconnect %d", i+1)
		}
	}
}

// Failures before a connection is authenticated and subscribed do grow the backoff.
func TestSubscriberBackoffGrowsWhileConnectingFails(t *testing.T) {
	srv := newWSTestServer(t, 1)
	srv.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	srv.start()
	attempts := make(chan int, 16)
	opts := testOptions(srv.url(), Subscription{Stream: "a"})
	opts.Hooks = Hooks{OnReconnectWait: func(attempt int, _ time.Duration, _ error) { attempts <- attempt }}
	runSubscriber(t, opts)
	for want := 1; want <= 3; want++ {
		select {
		case got := <-attempts:
			if got != want {
				t.Fatalf("failed dial %d reported attempt %d", want, got)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no retry %d", want)
		}
	}
}

func TestSubscriberDetectsDeadConnection(t *testing.T) {
	srv := newWSTestServer(t, 1).start()
	disconnected := make(chan error, 4)
	opts := testOptions(srv.url(), Subscription{Stream: "a"})
	opts.DeadAfter = 300 * time.Millisecond
	opts.Hooks.OnDisconnect = func(err error) { disconnected <- err }
	runSubscriber(t, opts)
	first := srv.next(t)
	// Pings for longer than DeadAfter keep the connection alive, and each is answered.
	for i := range 6 {
		if err := first.ping(fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-first.pongs:
			if got != fmt.Sprint(i) {
				t.Fatalf("pong %q, want %q", got, fmt.Sprint(i))
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("no pong for ping %d", i)
		}
		time.Sleep(opts.DeadAfter / 3) // pacing the pings, not synchronisation
	}
	if n := srv.accepted.Load(); n != 1 {
		t.Fatalf("connection replaced while pinged: %d connections", n)
	}
	// Silence: the client gives up on the connection and dials again.
	select {
	case err := <-disconnected:
		if !errors.Is(err, ErrDeadConnection) {
			t.Fatalf("disconnect error %v, want ErrDeadConnection", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("silent connection not detected as dead")
	}
	srv.next(t)
}

func TestSubscriberFatalRefusals(t *testing.T) {
	tests := []struct {
		name      string
		authError string
		subErrors map[string]string
		wantIs    error
		wantText  []string
	}{
		{"auth refused", "The credentials are present and well formed but invalid.", nil, ErrAuthFailed,
			[]string{`client "bridge"`, "rejected the credentials", "well formed but invalid"}},
		{"subscription refused", "", map[string]string{"b": "no such stream"}, ErrSubscribeFailed,
			[]string{`stream "b"`, "no such stream"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newWSTestServer(t, 2)
			srv.authError, srv.subErrors = tt.authError, tt.subErrors
			srv.start()
			sub, err := NewSubscriber(testOptions(srv.url(), Subscription{Stream: "a"}, Subscription{Stream: "b"}),
				discardLogger())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			runErr := sub.Run(ctx)
			if !errors.Is(runErr, tt.wantIs) {
				t.Fatalf("Run = %v, want %v", runErr, tt.wantIs)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(runErr.Error(), s) {
					t.Errorf("error %q does not contain %q", runErr, s)
				}
			}
			if n := srv.accepted.Load(); n != 1 {
				t.Fatalf("server saw %d connections, want exactly 1", n)
			}
			if _, err := sub.Next(ctx); !errors.Is(err, tt.wantIs) {
				t.Fatalf("Next after Run = %v, want %v", err, tt.wantIs)
			}
		})
	}
}

// TestSubscriberBackpressure checks that the reader stops reading the websocket once MaxHeld
// deliveries or MaxHeldBytes are held, counting deliveries taken by Next and not released,
// and that releasing resumes it with nothing lost or reordered.
func TestSubscriberBackpressure(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxHeld  int
		maxBytes int64
		wantHeld int // each delivery has 16 KiB of payload and a little more
	}{
		{"messages", 4, 0, 4},
		{"bytes", 1000, 40000, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// total*16 KiB is more than the loopback socket buffers can hold, so the writes
			// must stall.
			const total = 5000
			srv := newWSTestServer(t, 1).start()
			opts := testOptions(srv.url(), Subscription{Stream: "a"})
			opts.MaxHeld, opts.MaxHeldBytes = tc.maxHeld, tc.maxBytes
			sub, stop := runSubscriber(t, opts)
			sc := srv.next(t)
			filler := strings.Repeat("x", 16<<10)
			var written atomic.Int32
			writerDone := make(chan struct{})
			go func() {
				defer close(writerDone)
				for i := range total {
					if sc.deliver("a", fmt.Sprintf(`{"i":%d,"f":"%s"}`, i, filler)) != nil {
						return
					}
					written.Add(1)
				}
			}()
			stalledAt := waitForStall(t, &written, total)
			t.Logf("server writes stalled after %d deliveries", stalledAt)
			if w := sub.Window(); w.Held != tc.wantHeld || w.Queued != tc.wantHeld || !w.Paused {
				t.Fatalf("window %+v, want %d held, all queued, reading paused", w, tc.wantHeld)
			}
			// Taking deliveries without releasing them does not resume reading.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			taken := make([]Delivery, 0, tc.wantHeld)
			for range tc.wantHeld {
				d, err := sub.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				taken = append(taken, d)
			}
			if again := waitForStall(t, &written, total); again != stalledAt {
				t.Fatalf("the server wrote %d more deliveries while none was released", again-stalledAt)
			}
			if w := sub.Window(); w.Held != tc.wantHeld || w.Queued != 0 || w.HeldBytes < int64(tc.wantHeld)*16<<10 {
				t.Fatalf("window after taking every queued delivery: %+v", w)
			}
			if sub.Release(Delivery{}) || !sub.Release(taken[0]) || sub.Release(taken[0]) {
				t.Fatal("Release accepted a delivery it never handed out, or one twice")
			}
			for _, d := range taken[1:] {
				sub.Release(d)
			}
			// Releasing resumes the server's writes; everything arrives in order.
			for i := len(taken); written.Load() < stalledAt+50; i++ {
				d, err := sub.Next(ctx)
				if err != nil {
					t.Fatalf("Next %d: %v", i, err)
				}
				if want := fmt.Sprintf(`{"i":%d,`, i); !strings.HasPrefix(string(d.Payload), want) {
					t.Fatalf("delivery %d starts %.20q", i, d.Payload)
				}
				sub.Release(d)
			}
			if err := stop(); err != nil {
				t.Fatalf("Run: %v", err)
			}
			<-writerDone
		})
	}
}

// waitForStall returns the value of counter once it stopped growing for 200ms.
func waitForStall(t *testing.T, counter *atomic.Int32, total int32) int32 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for last := int32(-1); ; {
		time.Sleep(200 * time.Millisecond) // observing a stall needs elapsed time
		now := counter.Load()
		if now == last {
			return now
		}
		if now == total || time.Now().After(deadline) {
			t.Fatalf("server wrote %d of %d deliveries without blocking", now, total)
		}
		last = now
	}
}

func TestSubscriberStopsPromptlyWithCloseFrame(t *testing.T) {
	srv := newWSTestServer(t, 1).start()
	sub, stop := runSubscriber(t, testOptions(srv.url(), Subscription{Stream: "a"}))
	sc := srv.next(t)
	began := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
	if d := time.Since(began); d > time.Second {
		t.Fatalf("Run took %s to return after cancel", d)
	}
	select {
	case <-sc.closed:
	case <-time.After(2 * time.Second):
		t.Fatal("server connection still open after Run returned")
	}
	if !websocket.IsCloseError(sc.readErr, websocket.CloseNormalClosure) {
		t.Fatalf("server read ended with %v, want a normal close frame", sc.readErr)
	}
	if sub.Connected() {
		t.Fatal("Connected after Run returned")
	}
	if _, err := sub.Next(context.Background()); !errors.Is(err, ErrSubscriberStopped) {
		t.Fatalf("Next after stop = %v, want ErrSubscriberStopped", err)
	}
}

func TestSubscriberReconnectsAfterOversizedFrame(t *testing.T) {
	srv := newWSTestServer(t, 1).start()
	opts := testOptions(srv.url(), Subscription{Stream: "a"})
	opts.MaxFrameBytes = 1024
	sub, _ := runSubscriber(t, opts)
	first := srv.next(t)
	if err := first.deliver("a", `{"big":"`+strings.Repeat("x", 2048)+`"}`); err != nil {
		t.Fatal(err)
	}
	second := srv.next(t)
	if err := second.deliver("a", `{"small":1}`); err != nil {
		t.Fatal(err)
	}
	if got := payloads(nextN(t, sub, 1)); got[0] != `a:{"small":1}` {
		t.Fatalf("got %q", got[0])
	}
}

func TestNewSubscriberValidates(t *testing.T) {
	ok := testOptions("http://127.0.0.1:3104", Subscription{Stream: "a", GroupID: testGroup})
	tests := []struct {
		name    string
		edit    func(*SubscriberOptions)
		wantErr string
	}{
		{"valid", func(*SubscriberOptions) {}, ""},
		{"upper-case uuid", func(o *SubscriberOptions) { o.Subscriptions[0].GroupID = testGroup2 }, ""},
		{"jwt without secret", func(o *SubscriberOptions) {
			o.ClientSecret = ""
			o.JWT = func(context.Context) (string, error) { return "t", nil }
		}, ""},
		{"group not a uuid", func(o *SubscriberOptions) { o.Subscriptions[0].GroupID = "abc" }, "not an RFC 4122 UUID"},
		{"braced uuid", func(o *SubscriberOptions) { o.Subscriptions[0].GroupID = "{" + testGroup + "}" }, "not an RFC 4122 UUID"},
		{"urn uuid", func(o *SubscriberOptions) { o.Subscriptions[0].GroupID = "urn:uuid:" + testGroup }, "not an RFC 4122 UUID"},
		{"empty stream", func(o *SubscriberOptions) { o.Subscriptions[0].Stream = "" }, "stream is empty"},
		{"duplicate", func(o *SubscriberOptions) { o.Subscriptions = append(o.Subscriptions, o.Subscriptions[0]) }, "duplicate"},
		{"no subscriptions", func(o *SubscriberOptions) { o.Subscriptions = nil }, "no subscriptions"},
		{"no client id", func(o *SubscriberOptions) { o.ClientID = "" }, "client id is empty"},
		{"no credentials", func(o *SubscriberOptions) { o.ClientSecret = "" }, "neither a client secret"},
		{"bad scheme", func(o *SubscriberOptions) { o.URL = "ftp://host" }, "scheme must be"},
		{"no host", func(o *SubscriberOptions) { o.URL = "ws://" }, "no host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := ok
			opts.Subscriptions = append([]Subscription(nil), ok.Subscriptions...)
			tt.edit(&opts)
			_, err := NewSubscriber(opts, discardLogger())
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestWebsocketURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ws://h:3104", "ws://h:3104/api/v1/streams"},
		{"wss://h", "wss://h/api/v1/streams"},
		{"http://h:3104/", "ws://h:3104/api/v1/streams"},
		{"https://h/prefix", "wss://h/prefix/api/v1/streams"},
		{"ws://h/api/v1/streams", "ws://h/api/v1/streams"},
	}
	for _, tt := range tests {
		got, err := websocketURL(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("websocketURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

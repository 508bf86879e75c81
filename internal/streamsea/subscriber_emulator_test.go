package streamsea_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/backoff"
	"github.com/seabridge/seabridge/internal/streamsea"
	"github.com/seabridge/seabridge/internal/streamsea/emulator"
)

const emuGroup = "1b2c3d4e-5f60-4718-9a0b-c1d2e3f4a5b6"

func startEmulator(t *testing.T) (*emulator.Server, *streamsea.Client) {
	t.Helper()
	emu, err := emulator.New(emulator.Options{Clients: []emulator.Client{{ID: "bridge", Secret: "s3cret"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	client, err := streamsea.NewClient(streamsea.ClientOptions{BaseURL: emu.URL(), ClientID: "bridge", ClientSecret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	return emu, client
}

// startEmulatorSubscriber runs a subscriber and waits for its first connection; connects
// receives every later connection too.
func startEmulatorSubscriber(t *testing.T, url, secret string) (*streamsea.Subscriber, <-chan struct{}, <-chan error) {
	t.Helper()
	connects := make(chan struct{}, 8)
	sub, err := streamsea.NewSubscriber(streamsea.SubscriberOptions{
		URL: url, ClientID: "bridge", ClientSecret: secret,
		Subscriptions: []streamsea.Subscription{{Stream: "ships", GroupID: emuGroup}},
		Backoff:       backoff.Policy{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		Hooks:         streamsea.Hooks{OnConnect: func() { connects <- struct{}{} }},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done, stopped := make(chan error, 1), make(chan struct{})
	go func() {
		done <- sub.Run(ctx)
		close(stopped)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return sub, connects, done
}

func awaitConnect(t *testing.T, connects <-chan struct{}) {
	t.Helper()
	select {
	case <-connects:
	case <-time.After(5 * time.Second):
		t.Fatal("subscriber not connected within 5s")
	}
}

func nextValues(t *testing.T, sub *streamsea.Subscriber, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out := make([]string, n)
	for i := range out {
		d, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("Next %d: %v", i, err)
		}
		sub.Release(d)
		out[i] = d.Stream + ":" + string(d.Payload)
	}
	return out
}

func TestSubscriberAgainstEmulator(t *testing.T) {
	emu, client := startEmulator(t)
	ctx := context.Background()
	sub, connects, _ := startEmulatorSubscriber(t, emu.URL(), "s3cret")
	awaitConnect(t, connects)

	if err := client.Publish(ctx, "ships", []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := client.PublishBatch(ctx, "ships", [][]byte{[]byte(`{"n":2}`), []byte(`{"n":3}`)}); err != nil {
		t.Fatal(err)
	}
	want := []string{`ships:{"n":1}`, `ships:{"n":2}`, `ships:{"n":3}`}
	if got := nextValues(t, sub, 3); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("deliveries %q, want %q", got, want)
	}

	if n := emu.DropConnections(); n != 1 {
		t.Fatalf("dropped %d connections, want 1", n)
	}
	awaitConnect(t, connects)
	if err := client.Publish(ctx, "ships", []byte(`{"n":4}`)); err != nil {
		t.Fatal(err)
	}
	if got := nextValues(t, sub, 1); got[0] != `ships:{"n":4}` {
		t.Fatalf("after reconnect %q", got[0])
	}
}

func TestSubscribersOfOneGroupShareTheStream(t *testing.T) {
	const total = 100
	emu, client := startEmulator(t)
	a, connectsA, _ := startEmulatorSubscriber(t, emu.WSURL(), "s3cret")
	b, connectsB, _ := startEmulatorSubscriber(t, emu.WSURL(), "s3cret")
	awaitConnect(t, connectsA)
	awaitConnect(t, connectsB)
	for i := range total {
		if err := client.Publish(context.Background(), "ships", fmt.Appendf(nil, `{"n":%d}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]int{}
	for _, v := range append(nextValues(t, a, total/2), nextValues(t, b, total/2)...) {
		seen[v]++
	}
	for i := range total {
		if v := fmt.Sprintf(`ships:{"n":%d}`, i); seen[v] != 1 {
			t.Fatalf("%s delivered %d times, want once", v, seen[v])
		}
	}
}

func TestSubscriberRefusedByEmulatorIsFatal(t *testing.T) {
	emu, _ := startEmulator(t)
	sub, _, done := startEmulatorSubscriber(t, emu.WSURL(), "wrong")
	select {
	case err := <-done:
		if !errors.Is(err, streamsea.ErrAuthFailed) {
			t.Fatalf("Run = %v, want ErrAuthFailed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run kept retrying refused credentials")
	}
	if _, err := sub.Next(context.Background()); !errors.Is(err, streamsea.ErrAuthFailed) {
		t.Fatalf("Next = %v, want ErrAuthFailed", err)
	}
}

// TestSubscriberLogsTheServersCloseFrame deletes the subscriber's client on the emulator,
// which closes the websocket with 1008 and a reason: the subscriber's reconnect warning must
// carry both, and the reconnect is then refused for good.
func TestSubscriberLogsTheServersCloseFrame(t *testing.T) {
	emu, client := startEmulator(t)
	var logs streamsea.SyncLog
	connects := make(chan struct{}, 8)
	sub, err := streamsea.NewSubscriber(streamsea.SubscriberOptions{
		URL: emu.WSURL(), ClientID: "bridge", ClientSecret: "s3cret",
		Subscriptions: []streamsea.Subscription{{Stream: "ships", GroupID: emuGroup}},
		Backoff:       backoff.Policy{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		Hooks:         streamsea.Hooks{OnConnect: func() { connects <- struct{}{} }},
	}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx) }()
	awaitConnect(t, connects)
	if _, err := client.DeleteClient(ctx, "bridge"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, streamsea.ErrAuthFailed) {
		t.Fatalf("Run = %v, want ErrAuthFailed once the client is gone", err)
	}
	for _, want := range []string{"close_code=1008", `close_reason="the client was deleted"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs do not contain %s:\n%s", want, logs.String())
		}
	}
}

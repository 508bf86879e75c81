package streamsea

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

// TestSubscriberKeepsABatchLargerThanTheWindow covers a batch delivery larger than MaxHeld:
// the frame is kept whole, and once Run is stopped every element must stay available to
// Next, in order, before Next reports the stop.
func TestSubscriberKeepsABatchLargerThanTheWindow(t *testing.T) {
	srv := newWSTestServer(t, 1).start()
	opts := testOptions(srv.url(), Subscription{Stream: "a"})
	opts.MaxHeld = 1
	sub, stop := runSubscriber(t, opts)
	sc := srv.next(t)
	if err := sc.deliver("a", `[{"n":1},{"n":2},{"n":3},{"n":4},{"n":5}]`); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); sub.Window().Queued != 5; {
		if time.Now().After(deadline) {
			t.Fatalf("queued %+v, want the 5 deliveries of the frame", sub.Window())
		}
		time.Sleep(5 * time.Millisecond) // the reader reads the frame; nothing to await
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := sub.Window(); got.Queued != 5 || got.Held != 5 {
		t.Errorf("Window() = %+v after the stop, want the 5 deliveries received", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got []string
	for range 6 {
		d, err := sub.Next(ctx)
		if err != nil {
			if !errors.Is(err, ErrSubscriberStopped) {
				t.Fatalf("Next: %v, want ErrSubscriberStopped", err)
			}
			break
		}
		got = append(got, string(d.Payload))
	}
	want := []string{`{"n":1}`, `{"n":2}`, `{"n":3}`, `{"n":4}`, `{"n":5}`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Next handed out %q after the stop, want %q", got, want)
	}
}

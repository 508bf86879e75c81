package source

import (
	"context"
	"testing"
	"time"
)

func queued(q *deliveryQueue) []int64 {
	var out []int64
	dst := make([]*kafkaRecord, 3) // smaller than the queue: take is called several times
	for {
		n, _ := q.take(dst)
		if n == 0 {
			return out
		}
		for _, rec := range dst[:n] {
			out = append(out, rec.offset)
		}
	}
}

func TestDeliveryQueueOrderAndBound(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q := newDeliveryQueue(4, 1<<30)
	old, cur := &kafkaGeneration{}, &kafkaGeneration{}
	for i, g := range []*kafkaGeneration{old, cur, old, cur} {
		if !q.push(ctx, &kafkaRecord{gen: g, offset: int64(i)}) {
			t.Fatalf("push %d refused below the bound", i)
		}
	}

	// A fifth push waits for room, and gives up when its generation ends.
	pushCtx, endGeneration := context.WithCancel(ctx)
	refused := make(chan bool)
	go func() { refused <- !q.push(pushCtx, &kafkaRecord{gen: cur, offset: 99}) }()
	select {
	case <-refused:
		t.Fatal("push went past the in-flight bound")
	case <-time.After(20 * time.Millisecond):
	}
	endGeneration()
	if !<-refused {
		t.Fatal("push queued a record after its generation ended")
	}

	removed := q.removeGeneration(old)
	if len(removed) != 2 || removed[0].offset != 0 || removed[1].offset != 2 {
		t.Fatalf("removeGeneration returned %v, want the records at 0 and 2", removed)
	}
	if got := queued(q); len(got) != 2 || got[0] != 1 || got[1] != 3 {
		t.Fatalf("queue holds %v after removing a generation, want [1 3] in order", got)
	}

	// The four are still in flight until released; a waiting push proceeds on release.
	go func() { refused <- !q.push(ctx, &kafkaRecord{gen: cur, offset: 4}) }()
	q.release(1, 0)
	if <-refused {
		t.Fatal("push refused after a release made room")
	}
	if got := queued(q); len(got) != 1 || got[0] != 4 {
		t.Fatalf("queue holds %v, want [4]", got)
	}
}

func TestDeliveryQueueWakesTheReader(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q := newDeliveryQueue(100, 1<<30)
	dst := make([]*kafkaRecord, 10)
	n, wait := q.take(dst)
	if n != 0 || wait == nil {
		t.Fatalf("take on an empty queue = %d, %v; want 0 and a channel", n, wait)
	}
	go q.push(ctx, &kafkaRecord{offset: 7})
	select {
	case <-wait:
	case <-ctx.Done():
		t.Fatal("a push did not wake the waiting reader")
	}
	if n, _ := q.take(dst); n != 1 || dst[0].offset != 7 {
		t.Fatalf("take = %d, want the pushed record", n)
	}
}

// TestDeliveryQueueWakesFetchersWithSlack checks that a fetcher waiting for room is woken
// once acks brought the messages in flight down by a sixteenth of the bound, not at the first
// ack, so that the waiting fetchers are woken once per many acks.
func TestDeliveryQueueWakesFetchersWithSlack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q := newDeliveryQueue(32, 1<<30) // woken at 30
	for i := range 32 {
		q.push(ctx, &kafkaRecord{offset: int64(i)})
	}
	pushed := make(chan bool)
	go func() { pushed <- q.push(ctx, &kafkaRecord{offset: 32}) }()
	for q.waiting.Load() == 0 {
		if ctx.Err() != nil {
			t.Fatal("the fetcher never waited")
		}
		time.Sleep(time.Millisecond)
	}
	q.release(1, 0)
	select {
	case <-pushed:
		t.Fatal("a waiting fetcher was woken at 31 in flight, want at 30")
	case <-time.After(20 * time.Millisecond):
	}
	q.release(1, 0)
	if !<-pushed {
		t.Fatal("push refused after room was made")
	}
	if got := q.inFlight.Load(); got != 31 {
		t.Fatalf("%d in flight, want 31", got)
	}
}

// TestDeliveryQueuePushAllKeepsTheBound pushes a group larger than the room left: what fits is
// queued at once, the rest as releases make room, and a group cut short by the end of its
// generation says how many were queued.
func TestDeliveryQueuePushAllKeepsTheBound(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q := newDeliveryQueue(32, 1<<30) // wakes waiting pushers at 30 in flight
	recs := func(first, n int) []*kafkaRecord {
		out := make([]*kafkaRecord, n)
		for i := range out {
			out[i] = &kafkaRecord{offset: int64(first + i)}
		}
		return out
	}
	if n, waited := q.pushAll(ctx, recs(0, 30)); n != 30 || waited {
		t.Fatalf("pushAll of 30 below the bound: %d queued, waited %v", n, waited)
	}
	type result struct {
		n      int
		waited bool
	}
	done := make(chan result)
	go func() {
		n, waited := q.pushAll(ctx, recs(30, 6))
		done <- result{n, waited}
	}()
	// Two fit; the other four wait until the messages in flight are down to 30.
	for deadline := time.Now().Add(5 * time.Second); q.inFlight.Load() != 32 || q.waiting.Load() != 1; {
		if time.Now().After(deadline) {
			t.Fatalf("pushAll did not queue the 2 that fit and wait: %d in flight, %d waiting", q.inFlight.Load(), q.waiting.Load())
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case r := <-done:
		t.Fatalf("pushAll returned %+v past the in-flight bound", r)
	case <-time.After(20 * time.Millisecond):
	}
	q.release(4, 0)
	if r := <-done; r.n != 6 || !r.waited {
		t.Fatalf("pushAll after a release: %+v, want all 6 queued after a wait", r)
	}
	if got := q.inFlight.Load(); got != 32 {
		t.Fatalf("%d in flight, want 32", got)
	}
	got := queued(q)
	if len(got) != 36 {
		t.Fatalf("queue holds %v, want 0..35 in order", got)
	}
	for i, o := range got {
		if o != int64(i) {
			t.Fatalf("queue holds %v, want 0..35 in order", got)
		}
	}

	genCtx, endGeneration := context.WithCancel(ctx)
	go func() {
		n, waited := q.pushAll(genCtx, recs(36, 3))
		done <- result{n, waited}
	}()
	endGeneration()
	if r := <-done; r.n != 0 {
		t.Fatalf("pushAll with no room and its generation ended: %+v, want none queued", r)
	}
}

// waitForWaiters waits until n pushers wait for room in q.
func waitForWaiters(t *testing.T, q *deliveryQueue, n int32) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for q.waiting.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d pushers waiting after 10s, want %d", q.waiting.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDeliveryQueueBoundsBytes(t *testing.T) {
	cases := []struct {
		name       string
		maxCount   int
		maxBytes   int64
		held       []int64 // sizes of the records in flight before the push
		push       int64
		wantWaited bool // the push waits until the held records are released
	}{
		{"fits under the byte bound", 10, 100, []int64{40, 40}, 20, false},
		{"would pass the byte bound", 10, 100, []int64{40, 40}, 21, true},
		{"oversize record with nothing in flight", 10, 100, nil, 1000, false},
		{"oversize record after zero-byte records", 10, 100, []int64{0, 0}, 1000, false},
		{"oversize record waits for the others", 10, 100, []int64{1}, 1000, true},
		{"count bound with bytes to spare", 2, 100, []int64{1, 1}, 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			q := newDeliveryQueue(tc.maxCount, tc.maxBytes)
			g := &kafkaGeneration{}
			var heldBytes int64
			for i, size := range tc.held {
				if n, waited := q.pushAll(ctx, []*kafkaRecord{{gen: g, offset: int64(i), size: size}}); n != 1 || waited {
					t.Fatalf("held record %d: queued %d, waited %v", i, n, waited)
				}
				heldBytes += size
			}
			type result struct {
				n      int
				waited bool
			}
			done := make(chan result, 1)
			go func() {
				n, waited := q.pushAll(ctx, []*kafkaRecord{{gen: g, offset: 99, size: tc.push}})
				done <- result{n, waited}
			}()
			if tc.wantWaited {
				waitForWaiters(t, q, 1)
				select {
				case r := <-done:
					t.Fatalf("push of %d bytes returned %+v with %d bytes of %d held", tc.push, r, heldBytes, tc.maxBytes)
				default:
				}
				q.release(len(tc.held), heldBytes)
			}
			r := <-done
			if r.n != 1 || r.waited != tc.wantWaited {
				t.Fatalf("push queued %d, waited %v; want 1, %v", r.n, r.waited, tc.wantWaited)
			}
			if got, want := q.inFlightBytes.Load(), tc.push; tc.wantWaited && got != want {
				t.Fatalf("%d bytes in flight after the release, want %d", got, want)
			}
		})
	}
}

// A batch pushed at once enters as far as the byte bound allows; the rest waits for acks, and
// a partial release below the bound that still leaves no room does not let it through.
func TestDeliveryQueuePushAllSplitsByBytes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q := newDeliveryQueue(100, 100) // woken at 94 bytes
	g := &kafkaGeneration{}
	recs := []*kafkaRecord{{gen: g, offset: 0, size: 30}, {gen: g, offset: 1, size: 30},
		{gen: g, offset: 2, size: 30}, {gen: g, offset: 3, size: 80}}
	done := make(chan int, 1)
	go func() {
		n, _ := q.pushAll(ctx, recs)
		done <- n
	}()
	waitForWaiters(t, q, 1)
	if got := queued(q); len(got) != 3 {
		t.Fatalf("queued %v before any release, want the first three", got)
	}
	q.release(1, 30) // 60 bytes left: woken, 60+80 still does not fit
	waitForWaiters(t, q, 1)
	select {
	case n := <-done:
		t.Fatalf("pushAll returned %d with 60 bytes in flight and 80 to add to a bound of 100", n)
	default:
	}
	q.release(2, 60)
	if n := <-done; n != 4 {
		t.Fatalf("pushAll queued %d, want 4", n)
	}
	if got := queued(q); len(got) != 1 || got[0] != 3 {
		t.Fatalf("queue holds %v, want [3]", got)
	}
	if b := q.inFlightBytes.Load(); b != 80 {
		t.Fatalf("%d bytes in flight, want 80", b)
	}
}

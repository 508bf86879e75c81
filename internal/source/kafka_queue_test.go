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
	q := newDeliveryQueue(4)
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
	q.release(1)
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
	q := newDeliveryQueue(100)
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
	q := newDeliveryQueue(32) // woken at 30
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
	q.release(1)
	select {
	case <-pushed:
		t.Fatal("a waiting fetcher was woken at 31 in flight, want at 30")
	case <-time.After(20 * time.Millisecond):
	}
	q.release(1)
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
	q := newDeliveryQueue(32) // wakes waiting pushers at 30 in flight
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
	q.release(4)
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

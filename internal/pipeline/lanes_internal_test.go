package pipeline

import (
	"testing"
	"time"
)

func TestLaneHasherKeepsAPartitionOnOneLane(t *testing.T) {
	h := laneHasher{lanes: 8}
	seen := map[int]int{}
	for round := range 3 {
		for p := range 6 {
			lane := h.lane(&Message{Topic: "positions", Partition: p})
			if round == 0 {
				seen[p] = lane
			} else if seen[p] != lane {
				t.Fatalf("partition %d on lane %d, earlier on lane %d", p, lane, seen[p])
			}
		}
		_ = h.lane(&Message{Topic: "other", Partition: 1}) // switching topics must not disturb it
	}
	lanes := map[int]bool{}
	for _, l := range seen {
		lanes[l] = true
	}
	if len(lanes) != 6 {
		t.Errorf("6 partitions of one topic on %d of 8 lanes, want 6 (spread evenly)", len(lanes))
	}
	if got := (&laneHasher{lanes: 1}).lane(&Message{Topic: "x", Partition: 5}); got != 0 {
		t.Errorf("one lane: lane %d, want 0", got)
	}
}

func queued(lane int) *batch { return &batch{lane: lane} }

// takeNow takes a batch, failing the test if take would block.
func takeNow(t *testing.T, q *writeQueue) *batch {
	t.Helper()
	got := make(chan *batch, 1)
	go func() {
		b, ok := q.take()
		if !ok {
			b = nil
		}
		got <- b
	}()
	select {
	case b := <-got:
		return b
	case <-time.After(5 * time.Second):
		t.Fatal("take blocked with a batch of a free lane queued")
		return nil
	}
}

func TestWriteQueueOneBatchPerLaneOldestFirst(t *testing.T) {
	q := newWriteQueue(3, 10)
	a1, b1, a2, c1 := queued(0), queued(1), queued(0), queued(2)
	for _, b := range []*batch{a1, b1, a2, c1} {
		if !q.put(b) {
			t.Fatal("put refused on a running queue")
		}
	}
	if got := takeNow(t, q); got != a1 {
		t.Fatalf("first take = lane %d seq %d, want a1 (the oldest)", got.lane, got.seq)
	}
	// Lane 0 is busy with a1: a2 must wait although it is older than c1.
	if got := takeNow(t, q); got != b1 {
		t.Fatalf("second take = lane %d seq %d, want b1", got.lane, got.seq)
	}
	if got := takeNow(t, q); got != c1 {
		t.Fatalf("third take = lane %d seq %d, want c1, not a2 while a1 is being written", got.lane, got.seq)
	}
	blocked := make(chan *batch, 1)
	go func() {
		b, _ := q.take()
		blocked <- b
	}()
	select {
	case b := <-blocked:
		t.Fatalf("take returned lane %d while its lane was busy", b.lane)
	case <-time.After(20 * time.Millisecond):
	}
	q.release(a1)
	select {
	case b := <-blocked:
		if b != a2 {
			t.Fatalf("after release, take = lane %d seq %d, want a2", b.lane, b.seq)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("take still blocked after the lane was released")
	}
}

func TestWriteQueueCloseAndStop(t *testing.T) {
	q := newWriteQueue(1, 1)
	q.put(queued(0))
	putDone := make(chan bool, 1)
	go func() { putDone <- q.put(queued(0)) }() // blocks: the queue is full
	select {
	case <-putDone:
		t.Fatal("put did not block on a full queue")
	case <-time.After(20 * time.Millisecond):
	}
	q.stop()
	if ok := <-putDone; ok {
		t.Error("put on a stopped queue returned true")
	}
	if _, ok := q.take(); ok {
		t.Error("take on a stopped queue returned a batch")
	}
	if left := q.drain(); len(left) != 1 {
		t.Errorf("drain returned %d batches, want the 1 queued", len(left))
	}

	q = newWriteQueue(2, 4)
	q.put(queued(1))
	q.close()
	b := takeNow(t, q)
	q.release(b)
	if _, ok := q.take(); ok {
		t.Error("take on a closed, empty queue returned a batch")
	}
}

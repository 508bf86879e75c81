package spool

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestConcurrentAppendReadAckAcrossCrashes appends from one goroutine while another reads
// and acknowledges out of order, crashing and reopening the spool twice: every record is read
// at least once, each first reading in append order.
func TestConcurrentAppendReadAckAcrossCrashes(t *testing.T) {
	const total = 3000
	r := newRig(t, Options{SegmentBytes: 4096, MaxBytes: 64 << 10, WhenFull: Block})
	seen := make([]int, total)
	var next atomic.Int64 // the next record to append
	lastFirst := -1
	for round := range 3 {
		upto := total * (round + 1) / 3
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Load() < int64(upto) {
				if _, err := r.s.Append(ctx, []byte(strconv.Itoa(int(next.Load())))); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				next.Add(1)
			}
		}()
		var held []uint64
		rng := rand.New(rand.NewPCG(uint64(round), 1))
		deadline := time.Now().Add(20 * time.Second)
		for read := 0; time.Now().Before(deadline); {
			rctx, rcancel := context.WithTimeout(ctx, 200*time.Millisecond)
			rec, err := r.s.Next(rctx)
			rcancel()
			if err != nil {
				if next.Load() >= int64(upto) {
					break
				}
				continue
			}
			i, _ := strconv.Atoi(string(rec.Data))
			if seen[i] == 0 {
				if i < lastFirst {
					t.Fatalf("record %d first read after %d", i, lastFirst)
				}
				lastFirst = i
			}
			seen[i]++
			read++
			held = append(held, rec.Seq)
			if len(held) >= 8 { // acknowledge a handful in a random order
				rng.Shuffle(len(held), func(a, b int) { held[a], held[b] = held[b], held[a] })
				for _, seq := range held[:6] {
					if err := r.s.Ack(seq); err != nil {
						t.Fatalf("Ack(%d): %v", seq, err)
					}
				}
				held = append(held[:0], held[6:]...)
			}
		}
		cancel()
		wg.Wait()
		r.s.housekeep()
		r.restart(true) // held records were never acked: read again after the crash
	}
	r.drain(true)
	for i, n := range seen {
		if n == 0 {
			t.Fatalf("record %d never read", i)
		}
	}
}

func TestGauges(t *testing.T) {
	clock := time.Unix(1_700_000_000, 0)
	r := newRig(t, Options{Name: "p"})
	r.s.mu.Lock()
	r.s.now = func() time.Time { return clock }
	r.s.mu.Unlock()
	r.append(numbered(0, 3)...)
	r.s.mu.Lock()
	clock = clock.Add(5 * time.Second)
	r.s.mu.Unlock()
	r.s.updateGauges()
	if v := testutil.ToFloat64(r.m.records.WithLabelValues("p")); v != 3 {
		t.Fatalf("records gauge %v, want 3", v)
	}
	if v := testutil.ToFloat64(r.m.oldestAge.WithLabelValues("p")); v != 5 {
		t.Fatalf("oldest age %v, want 5", v)
	}
	if v := testutil.ToFloat64(r.m.bytes.WithLabelValues("p")); v != float64(segmentHeaderBytes+3*recordSize(13)) {
		t.Fatalf("bytes gauge %v", v)
	}
	if v := testutil.ToFloat64(r.m.maxBytes.WithLabelValues("p")); v != float64(r.opts.MaxBytes) {
		t.Fatalf("max bytes gauge %v", v)
	}
	rec := r.next()
	r.s.updateGauges()
	if v := testutil.ToFloat64(r.m.oldestAge.WithLabelValues("p")); v != 5 {
		t.Fatalf("oldest age with one in flight %v, want 5", v)
	}
	if err := r.s.Ack(rec.Seq); err != nil {
		t.Fatal(err)
	}
	r.drain(true)
	r.s.updateGauges()
	if v := testutil.ToFloat64(r.m.oldestAge.WithLabelValues("p")); v != 0 {
		t.Fatalf("oldest age of an empty spool %v, want 0", v)
	}
	if v := testutil.ToFloat64(r.m.records.WithLabelValues("p")); v != 0 {
		t.Fatalf("records gauge %v, want 0", v)
	}
}

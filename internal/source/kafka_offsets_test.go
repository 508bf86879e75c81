package source

import "testing"

func TestPartitionOffsets(t *testing.T) {
	type step struct {
		fetch []int64 // offsets fetched
		ack   []int64 // offsets acked
		want  int64   // commit position after the step, -1 for none
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"nothing acked", []step{{fetch: []int64{0, 1, 2}, want: -1}}},
		{"in order", []step{{fetch: []int64{0, 1, 2}, ack: []int64{0, 1, 2}, want: 3}}},
		{"gap held back", []step{
			{fetch: []int64{0, 1, 2, 3, 4}, ack: []int64{0, 1, 3}, want: 2},
			{ack: []int64{2}, want: 4},
			{ack: []int64{4}, want: 5},
		}},
		{"first unacked holds all", []step{{fetch: []int64{0, 1, 2}, ack: []int64{2, 1}, want: -1}}},
		{"offset gaps (compaction)", []step{{fetch: []int64{5, 9, 20}, ack: []int64{5, 9}, want: 10}}},
		{"unknown offset ignored", []step{{fetch: []int64{0}, ack: []int64{7}, want: -1}}},
		{"acked twice", []step{{fetch: []int64{0, 1}, ack: []int64{0, 0}, want: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPartitionOffsets(topicPartition{"t", 0}, -2)
			for i, s := range tt.steps {
				for _, o := range s.fetch {
					p.add(o)
				}
				for _, o := range s.ack {
					p.done(o)
				}
				if p.next != s.want {
					t.Fatalf("step %d: commit position %d, want %d", i, p.next, s.want)
				}
			}
		})
	}
}

func TestPartitionOffsetsStartFromCommit(t *testing.T) {
	for _, tt := range []struct {
		start, committed int64
	}{{-2, -1}, {-1, -1}, {0, 0}, {42, 42}} {
		if got := newPartitionOffsets(topicPartition{"t", 0}, tt.start).committed; got != tt.committed {
			t.Errorf("start %d: committed %d, want %d", tt.start, got, tt.committed)
		}
	}
}

// TestPartitionOffsetsReuseTheirSlice interleaves fetches and out-of-order acks for long
// enough that the spent front of the slice is reused many times, and checks the commit
// position and the unsettled messages against a plain model after every step.
func TestPartitionOffsetsReuseTheirSlice(t *testing.T) {
	p := newPartitionOffsets(topicPartition{"t", 0}, -2)
	acked := map[int64]bool{}
	var unacked []int64 // fetched and not acked, in fetch order
	allocs := 0
	for step := int64(0); step < 5000; step++ {
		before := cap(p.pending)
		p.add(step)
		if cap(p.pending) != before {
			allocs++
		}
		unacked = append(unacked, step)
		// Ack, out of order, every message fetched 3 to 40 steps ago whose step is odd, then
		// the even ones a few steps later.
		for _, o := range []int64{step - 3, step - 40} {
			if o >= 0 && !acked[o] && (o%2 == 1) == (o == step-3) {
				p.done(o)
				acked[o] = true
			}
		}
		for len(unacked) > 0 && acked[unacked[0]] {
			unacked = unacked[1:]
		}
		want := int64(-1)
		switch {
		case len(unacked) > 0 && unacked[0] > 0:
			want = unacked[0]
		case len(unacked) == 0:
			want = step + 1
		}
		if p.next != want {
			t.Fatalf("step %d: commit position %d, want %d", step, p.next, want)
		}
		if u := p.unsettled(); len(u) == 0 && len(unacked) > 0 || len(u) > 0 && u[0].offset != unacked[0] {
			t.Fatalf("step %d: unsettled %v, first unacked %v", step, u, unacked[:min(1, len(unacked))])
		}
	}
	if allocs > 10 {
		t.Errorf("the slice was reallocated %d times over 5000 fetches with at most ~40 unsettled", allocs)
	}
}

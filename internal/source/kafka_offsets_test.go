package source

import "testing"

func TestOffsetTracker(t *testing.T) {
	type step struct {
		fetch []int64 // offsets fetched (partition 0)
		ack   []int64 // offsets acked (of the epoch current when fetched)
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
		{"rewind starts a new epoch", []step{
			{fetch: []int64{0, 1, 2, 3}, ack: []int64{0}, want: 1},
			{fetch: []int64{1, 2}, ack: []int64{1}, want: 2},
		}},
		{"unknown offset ignored", []step{{fetch: []int64{0}, ack: []int64{7}, want: -1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newOffsetTracker()
			var part *partitionOffsets
			for i, s := range tt.steps {
				for _, o := range s.fetch {
					part = tr.add("t", 0, o)
				}
				for _, o := range s.ack {
					tr.done(part, o)
				}
				got := int64(-1)
				if c := tr.commitable(); len(c) == 1 {
					got = c[0].offset
				}
				if got != s.want {
					t.Fatalf("step %d: commit position %d, want %d", i, got, s.want)
				}
			}
		})
	}
}

func TestOffsetTrackerCommittedNotRepeated(t *testing.T) {
	tr := newOffsetTracker()
	p := tr.add("t", 1, 0)
	tr.add("t", 1, 1)
	tr.done(p, 0)
	c := tr.commitable()
	if len(c) != 1 || c[0].offset != 1 {
		t.Fatalf("commitable = %+v, want position 1", c)
	}
	tr.committed(c)
	if c := tr.commitable(); len(c) != 0 {
		t.Fatalf("after commit, commitable = %+v, want none", c)
	}
	tr.done(p, 1)
	if c := tr.commitable(); len(c) != 1 || c[0].offset != 2 {
		t.Fatalf("commitable = %+v, want position 2", c)
	}
}

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

package pipeline_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/pipeline/pipelinetest"
)

// TestPoisonStopWritesNothingAfterIt stops a runner without a dead-letter destination at a
// poison message in the middle of a batch, found by the mapper or by the sink, with one and
// with several writers: everything before it is written and acked, nothing after it is
// written, and Run names it.
func TestPoisonStopWritesNothingAfterIt(t *testing.T) {
	cases := []struct {
		name   string
		inject func(*rig)
		first  int64 // offset of the first poison message
		reason string
	}{
		{"mapper", func(rg *rig) { rg.opts.Mapper = poisonMapper() }, 3, "mapper: no route"},
		{"sink", func(rg *rig) { rg.sink.Reject(rejectSevens) }, 7, "sink: schema mismatch"},
	}
	for _, c := range cases {
		for _, writers := range []int{1, 4} {
			for _, batched := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/writers=%d/batch_source=%v", c.name, writers, batched), func(t *testing.T) {
					rg := newRig(40)
					rg.opts.MaxInFlightWrites = writers
					if batched {
						rg.opts.Source = pipelinetest.MemBatchSource{MemSource: rg.src}
					}
					c.inject(rg)
					run := rg.start(t)
					err := run.wait()
					where := fmt.Sprintf(`topic "in" partition 0 offset %d`, c.first)
					if !errors.Is(err, pipeline.ErrPoisonMessage) || !strings.Contains(err.Error(), where) ||
						!strings.Contains(err.Error(), c.reason) {
						t.Fatalf("Run = %v, want ErrPoisonMessage naming %s and %q", err, where, c.reason)
					}
					var got []int64
					for _, m := range rg.sink.Messages() {
						got = append(got, m.Offset)
					}
					if len(got) != int(c.first) {
						t.Fatalf("sink holds offsets %v, want exactly 0 to %d", got, c.first-1)
					}
					for i, off := range got {
						if off != int64(i) {
							t.Fatalf("sink holds offsets %v, want exactly 0 to %d in order", got, c.first-1)
						}
					}
					if rg.log.Committed() != c.first || rg.log.DoubleAcks() != 0 || rg.log.Unsettled() != 0 {
						t.Errorf("committed %d, double acks %d, unsettled %d; want %d, 0, 0",
							rg.log.Committed(), rg.log.DoubleAcks(), rg.log.Unsettled(), c.first)
					}
					if s := run.runner.Stats(); s.Out != uint64(c.first) {
						t.Errorf("stats %+v: want out = %d", s, c.first)
					}
				})
			}
		}
	}
}

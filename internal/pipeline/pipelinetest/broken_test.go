package pipelinetest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/pipeline"
)

// The suites must fail for broken implementations. Each case re-runs this test binary with
// an environment variable that selects a broken harness, and expects a failure naming the
// broken property.

const brokenEnv = "PIPELINETEST_BROKEN"

// reorderingSink writes each batch in reverse order.
type reorderingSink struct{ *MemSink }

func (s reorderingSink) Write(ctx context.Context, batch []*pipeline.Message) error {
	rev := make([]*pipeline.Message, len(batch))
	for i, m := range batch {
		rev[len(batch)-1-i] = m
	}
	return s.MemSink.Write(ctx, rev)
}

func TestBrokenImplementationsFailTheSuites(t *testing.T) {
	if os.Getenv(brokenEnv) != "" {
		t.Skip("inside a child run")
	}
	cases := []struct {
		name, child, wantOutput string
	}{
		{"lossy source", "TestBrokenChildLossySource", "still missing"},
		{"reordering sink", "TestBrokenChildReorderingSink", "order not preserved"},
		{"batch source losing the end of its batches", "TestBrokenChildTruncatingBatchSource", "ReadBatch/ReadsEveryProducedMessage"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+c.child+"$", "-test.count=1")
			cmd.Env = append(os.Environ(), brokenEnv+"=1")
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a broken implementation:\n%s", out)
			}
			if !strings.Contains(string(out), c.wantOutput) {
				t.Fatalf("the suite failed without naming %q:\n%s", c.wantOutput, out)
			}
		})
	}
}

func TestBrokenChildLossySource(t *testing.T) {
	if os.Getenv(brokenEnv) == "" {
		t.Skip("run by TestBrokenImplementationsFailTheSuites")
	}
	h := memSourceHarness()
	h.Timeout = 300 * time.Millisecond
	setup := h.Setup
	h.Setup = func(t *testing.T) SourceBackend {
		b := setup(t)
		produce := b.Produce
		b.Produce = func(ctx context.Context, t *testing.T, values [][]byte) {
			produce(ctx, t, values[:len(values)-1])
		}
		return b
	}
	RunSourceSuite(t, h)
}

// truncatingBatchSource reads full batches but hands over one message less than it read.
type truncatingBatchSource struct{ MemBatchSource }

func (s truncatingBatchSource) ReadBatch(ctx context.Context, msgs []*pipeline.Message, acks []pipeline.AckFunc) (int, error) {
	n, err := s.MemBatchSource.ReadBatch(ctx, msgs, acks)
	if n > 1 {
		n--
	}
	return n, err
}

func TestBrokenChildTruncatingBatchSource(t *testing.T) {
	if os.Getenv(brokenEnv) == "" {
		t.Skip("run by TestBrokenImplementationsFailTheSuites")
	}
	h := memHarness(true)
	h.Timeout = 300 * time.Millisecond
	setup := h.Setup
	h.Setup = func(t *testing.T) SourceBackend {
		b := setup(t)
		newSource := b.NewSource
		b.NewSource = func(t *testing.T) pipeline.Source {
			return truncatingBatchSource{newSource(t).(MemBatchSource)}
		}
		return b
	}
	RunSourceSuite(t, h)
}

func TestBrokenChildReorderingSink(t *testing.T) {
	if os.Getenv(brokenEnv) == "" {
		t.Skip("run by TestBrokenImplementationsFailTheSuites")
	}
	RunSinkSuite(t, SinkHarness{
		Setup: func(t *testing.T) SinkBackend {
			sink := NewMemSink()
			return SinkBackend{
				NewSink: func(*testing.T) pipeline.Sink { return reorderingSink{sink} },
				Collect: func(ctx context.Context, t *testing.T, want int) [][]byte {
					if err := sink.WaitCount(ctx, want); err != nil {
						t.Fatalf("waiting: %v", err)
					}
					var values [][]byte
					for _, m := range sink.Messages() {
						values = append(values, m.Value)
					}
					return values
				},
			}
		},
	})
}

package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/pipeline/pipelinetest"
)

// countingBatchSource counts the ReadBatch calls and the messages they returned; Read must
// not be called.
type countingBatchSource struct {
	pipelinetest.MemBatchSource
	calls, msgs, reads atomic.Int64
}

func (s *countingBatchSource) ReadBatch(ctx context.Context, msgs []*pipeline.Message, acks []pipeline.AckFunc) (int, error) {
	n, err := s.MemBatchSource.ReadBatch(ctx, msgs, acks)
	s.calls.Add(1)
	s.msgs.Add(int64(n))
	return n, err
}

func (s *countingBatchSource) Read(ctx context.Context) (*pipeline.Message, pipeline.AckFunc, error) {
	s.reads.Add(1)
	return s.MemBatchSource.Read(ctx)
}

// TestBatchSourceKeepsOrderAndAcks moves messages from a BatchSource through a sink that
// fails now and then, with one and with four writers: the runner reads with ReadBatch only,
// many messages per call, and every message is written in order and acked exactly once.
func TestBatchSourceKeepsOrderAndAcks(t *testing.T) {
	const n = 2000
	for _, writers := range []int{1, 4} {
		t.Run(fmt.Sprintf("writers=%d", writers), func(t *testing.T) {
			rg := newRig(n)
			src := &countingBatchSource{MemBatchSource: pipelinetest.MemBatchSource{MemSource: rg.src}}
			rg.opts.Source = src
			rg.opts.MaxInFlightWrites = writers
			rg.sink.FailWrites(errors.New("503"), pipeline.ErrNotConnected, errors.New("reset"))
			run := rg.start(t)
			rg.waitSink(t, n)
			if err := run.stop(); err != nil {
				t.Fatalf("Run = %v", err)
			}
			rg.checkInOrder(t, 0, n)
			rg.checkSettled(t, n, 0)
			if s := run.runner.Stats(); s.In != n || s.Out != n || s.InFlight != 0 {
				t.Errorf("Stats = %+v; want %d in and out, 0 in flight", s, n)
			}
			if src.reads.Load() != 0 {
				t.Errorf("the runner called Read %d times on a BatchSource", src.reads.Load())
			}
			if calls := src.calls.Load(); calls == 0 || src.msgs.Load() != n || calls > n/10 {
				t.Errorf("%d ReadBatch calls returned %d messages; want %d messages in at most %d calls",
					calls, src.msgs.Load(), n, n/10)
			}
		})
	}
}

// TestBatchSourceFanOutAndFilter maps the messages of a BatchSource into none, one or
// several outputs: each source message is acked once, after all its outputs are written.
func TestBatchSourceFanOutAndFilter(t *testing.T) {
	const n = 300
	rg := newRig(n)
	rg.opts.Source = pipelinetest.MemBatchSource{MemSource: rg.src}
	rg.opts.BatchSize = 7
	rg.opts.Mapper = mapFunc(func(_ context.Context, in *pipeline.Message) ([]*pipeline.Message, error) {
		switch in.Offset % 3 {
		case 0:
			return nil, nil
		case 1:
			a, b := in.Clone(), in.Clone()
			a.Value, b.Value = fmt.Appendf(nil, "%s/a", in.Value), fmt.Appendf(nil, "%s/b", in.Value)
			return []*pipeline.Message{a, b}, nil
		default:
			return []*pipeline.Message{in}, nil
		}
	})
	run := rg.start(t)
	rg.waitSink(t, n/3*2+n/3)
	if err := run.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	rg.checkSettled(t, n, 0)
	fanned := 0
	for _, m := range rg.sink.Messages() {
		if strings.HasSuffix(string(m.Value), "/a") || strings.HasSuffix(string(m.Value), "/b") {
			fanned++
		}
	}
	if s := run.runner.Stats(); s.In != n || s.Filtered != n/3 || fanned != n/3*2 {
		t.Errorf("Stats = %+v, %d fan-out outputs; want %d in, %d filtered, %d fan-out outputs",
			s, fanned, n, n/3, n/3*2)
	}
}

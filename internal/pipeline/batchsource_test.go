package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// batchSizes records the size of every Write (and WritePrefix) of the sink it wraps.
type batchSizes struct {
	*pipelinetest.MemSink
	mu    sync.Mutex
	sizes []int
}

func (s *batchSizes) record(n int) {
	s.mu.Lock()
	s.sizes = append(s.sizes, n)
	s.mu.Unlock()
}

func (s *batchSizes) Write(ctx context.Context, batch []*pipeline.Message) error {
	s.record(len(batch))
	return s.MemSink.Write(ctx, batch)
}

func (s *batchSizes) WritePrefix(ctx context.Context, batch []*pipeline.Message) error {
	s.record(len(batch))
	return s.MemSink.WritePrefix(ctx, batch)
}

func (s *batchSizes) get() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sizes)
}

// TestBatchSourceFlushesWhenNothingMoreIsReady checks the early flush: a partial batch of a
// BatchSource is written as soon as the source has nothing more ready and no write of its lane
// is in flight, without waiting for the linger (an hour here); while the lane's write is in
// flight, what arrives fills the next batch, which is written as soon as that write ends.
func TestBatchSourceFlushesWhenNothingMoreIsReady(t *testing.T) {
	rg := newRig(0)
	rg.opts.Source = pipelinetest.NewMemBatchSource(rg.log)
	sink := &batchSizes{MemSink: rg.sink}
	rg.opts.Sink = sink
	rg.opts.Linger = time.Hour
	rg.opts.BatchSize = 100
	mapper, seen := seenMapper(1 + 5)
	rg.opts.Mapper = mapper
	run := rg.start(t)

	rg.sink.SetBlocked(true)
	rg.log.Append([]byte("first"))
	waitFor(t, "the first message's write to start", func() bool { return len(sink.get()) == 1 })
	for i := range 5 { // read one at a time while the first write is in flight
		rg.log.Append(fmt.Appendf(nil, "next-%d", i))
	}
	await(t, seen, "the runner to read all six messages")
	rg.sink.SetBlocked(false)
	rg.waitSink(t, 6) // no more reads: only the end of the first write can flush the five
	if err := run.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if got := sink.get(); !slices.Equal(got, []int{1, 5}) {
		t.Errorf("batch sizes %v, want [1 5]: the first alone, the rest batched while it was written", got)
	}
	rg.checkSettled(t, 6, 0)
}

package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/pipeline/pipelinetest"
)

// keepingSource is a bufferedSource that keeps what it hands out until it is acked, like a
// stream-sea source with a spool, and can fail fatally by itself (FailureNotifier), as its
// websocket does in the background.
type keepingSource struct {
	*bufferedSource
	failOnce sync.Once
	failed   chan struct{}
	failure  error
}

var (
	_ pipeline.DurableSource   = (*keepingSource)(nil)
	_ pipeline.FailureNotifier = (*keepingSource)(nil)
)

func newKeepingSource(n, maxInFlight int) *keepingSource {
	return &keepingSource{bufferedSource: newBufferedSource(n, maxInFlight), failed: make(chan struct{})}
}

func (s *keepingSource) Durable() bool           { return true }
func (s *keepingSource) Failed() <-chan struct{} { return s.failed }
func (s *keepingSource) Failure() error          { return s.failure }

// fail makes the source fail fatally with err: Read returns it from then on.
func (s *keepingSource) fail(err error) {
	s.failOnce.Do(func() {
		s.failure = fmt.Errorf("keeping source: %w: %w", pipeline.ErrFatal, err)
		close(s.failed)
	})
}

func (s *keepingSource) Read(ctx context.Context) (*pipeline.Message, pipeline.AckFunc, error) {
	select {
	case <-s.failed:
		return nil, nil, s.failure
	default:
	}
	return s.bufferedSource.Read(ctx)
}

// downSink never connects: Kafka unreachable.
type downSink struct {
	*pipelinetest.MemSink
}

func (downSink) Connect(context.Context) error { return errors.New("connection refused") }

// TestASourceFailureStopsTheRunnerWhileTheSinkConnects fails a durable source (its websocket's
// credentials refused) while the sink cannot connect: Run returns the failure at once instead
// of waiting for the sink.
func TestASourceFailureStopsTheRunnerWhileTheSinkConnects(t *testing.T) {
	rg := newRig(0)
	src := newKeepingSource(10, 10)
	rg.opts.Source = src
	rg.opts.Sink = downSink{rg.sink}
	run := rg.start(t)
	time.Sleep(20 * time.Millisecond) // a few connect attempts
	src.fail(errors.New("401 Unauthorized"))
	err := run.wait()
	if !errors.Is(err, pipeline.ErrFatal) || !errors.Is(err, src.failure) {
		t.Fatalf("Run = %v, want the source's failure", err)
	}
	if st := run.runner.Stats(); st.In != 0 {
		t.Errorf("stats %+v: read with no sink connected", st)
	}
}

// TestASourceFailureStopsTheRunnerWhileWritesAreRetried fails a durable source while the sink
// is connected and every write fails (the reader waits for the writers, reading nothing): Run
// returns the failure within the shutdown budget.
func TestASourceFailureStopsTheRunnerWhileWritesAreRetried(t *testing.T) {
	const n = 200
	rg := newRig(0)
	src := newKeepingSource(n, n)
	rg.opts.Source = src
	rg.opts.MaxInFlightBatches = 1
	rg.opts.ShutdownTimeout = 100 * time.Millisecond
	down := make([]error, 1_000_000)
	for i := range down {
		down[i] = errors.New("broker unreachable")
	}
	rg.sink.FailWrites(down...)
	mapper, seen := seenMapper(3 * int64(rg.opts.BatchSize))
	rg.opts.Mapper = mapper
	run := rg.start(t)
	await(t, seen, "the queue to fill")
	src.fail(errors.New("401 Unauthorized"))
	err := run.wait()
	if !errors.Is(err, pipeline.ErrFatal) || !errors.Is(err, src.failure) {
		t.Fatalf("Run = %v, want the source's failure", err)
	}
	if st := run.runner.Stats(); st.Out != 0 || st.In == 0 || st.In == n {
		t.Errorf("stats %+v: want some read, none written", st)
	}
}

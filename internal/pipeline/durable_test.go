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

// abandoningSink is a sink whose Close reports a write given up on, as the Kafka sink does
// when the close budget runs out with a produce in flight.
type abandoningSink struct {
	*pipelinetest.MemSink
}

func (s abandoningSink) Close(ctx context.Context) error {
	_ = s.MemSink.Close(ctx)
	return fmt.Errorf("abandoning sink: close: %w: %w", pipeline.ErrWriteAbandoned, context.DeadlineExceeded)
}

// TestADurableSourceKeepsWhatTheShutdownGaveUpOn stops a runner whose sink never answers,
// with a short budget: the messages it read are nacked, and its sink gives up on the write in
// flight at close. With a source that keeps what was nacked, that is no loss and no error of
// Run; with one that cannot redeliver, both are.
func TestADurableSourceKeepsWhatTheShutdownGaveUpOn(t *testing.T) {
	for _, durable := range []bool{true, false} {
		t.Run(fmt.Sprintf("durable=%v", durable), func(t *testing.T) {
			const n = 100
			rg := newRig(0)
			var src pipeline.Source = newBufferedSource(n, n)
			if durable {
				src = newKeepingSource(n, n)
			}
			rg.opts.Source = src
			rg.opts.Sink = abandoningSink{rg.sink}
			rg.opts.ShutdownTimeout = 50 * time.Millisecond
			mapper, seen := seenMapper(5)
			rg.opts.Mapper = mapper
			rg.sink.SetBlocked(true) // never answers
			run := rg.start(t)
			await(t, seen, "the runner to read")
			err := run.stop()
			if st := run.runner.Stats(); st.Nacked == 0 {
				t.Fatalf("stats %+v: nothing nacked, the budget never ran out", st)
			}
			if durable {
				if err != nil {
					t.Errorf("Run = %v, want nil: the source keeps what was nacked", err)
				}
				return
			}
			if !errors.Is(err, pipeline.ErrShutdownTimeout) || !errors.Is(err, pipeline.ErrWriteAbandoned) {
				t.Errorf("Run = %v, want ErrShutdownTimeout and ErrWriteAbandoned", err)
			}
		})
	}
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

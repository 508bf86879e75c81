package pipeline_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/pipeline/pipelinetest"
)

// reconnectingSource is a MemSource that, like the stream-sea source, keeps its connection
// up by itself and reports its state.
type reconnectingSource struct {
	*pipelinetest.MemSource
	up atomic.Bool
}

func (s *reconnectingSource) Connected() bool { return s.up.Load() }

func TestReadyFollowsASourceThatReconnectsByItself(t *testing.T) {
	rg := newRig(0)
	src := &reconnectingSource{MemSource: rg.src}
	src.up.Store(true)
	rg.opts.Source = src
	run := rg.start(t)
	waitFor(t, "ready after connecting", run.runner.Ready)
	src.up.Store(false)
	if run.runner.Ready() || run.runner.Stats().Ready {
		t.Fatal("Ready must be false while the source reports its connection down")
	}
	src.up.Store(true)
	if !run.runner.Ready() {
		t.Fatal("Ready must be true again once the source reports its connection up")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// durableSource is a MemSource that keeps what it receives, like a stream-sea source with a
// spool.
type durableSource struct {
	*pipelinetest.MemSource
	connects atomic.Int64
}

func (s *durableSource) Durable() bool { return true }

func (s *durableSource) Connect(ctx context.Context) error {
	if err := s.MemSource.Connect(ctx); err != nil {
		return err
	}
	s.connects.Add(1)
	return nil
}

func TestADurableSourceIsConnectedBeforeTheSinkAndReadyWithoutIt(t *testing.T) {
	rg := newRig(3)
	src := &durableSource{MemSource: rg.src}
	rg.opts.Source = src
	down := errors.New("Kafka unreachable")
	var downs []error
	for range 20 {
		downs = append(downs, down)
	}
	// The dead-letter destination connects first otherwise: it must not hold the source up.
	rg.opts.DeadLetter = &connectingDeadLetter{MemDeadLetter: rg.dl, connectErrs: downs}
	rg.sink.FailConnects(downs...)
	run := rg.start(t)
	waitFor(t, "the durable source connected while the sink cannot", func() bool { return src.connects.Load() > 0 })
	if rg.sink.Connects() != 0 {
		t.Fatal("the sink connected before the test let it")
	}
	if !run.runner.Ready() {
		t.Fatal("a pipeline whose durable source is connected must be ready while its sink connects")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rg.sink.WaitCount(ctx, 3); err != nil {
		t.Fatalf("after the sink connected: %v", err)
	}
}

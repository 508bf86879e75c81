package pipeline_test

import (
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

package source

import (
	"context"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/backoff"
	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/pipeline/pipelinetest"
	"github.com/seabridge/seabridge/internal/streamsea"
)

// ssRunner is a stream-sea -> sink runner running in the background.
type ssRunner struct {
	*pipeline.Runner
	cancel context.CancelFunc
	done   chan error
}

// startSSRunner runs src into sink in batches of batchSize and waits until the runner is
// ready; the runner is stopped at the end of the test.
func startSSRunner(t *testing.T, src pipeline.Source, sink *pipelinetest.MemSink, batchSize int) *ssRunner {
	t.Helper()
	runner, err := pipeline.NewRunner(pipeline.Options{
		Name: "boiler", Direction: pipeline.DirectionStreamSeaToKafka, Source: src, Sink: sink,
		BatchSize: batchSize, Linger: time.Millisecond, ShutdownTimeout: 10 * time.Second,
		Retry: backoff.Policy{Initial: time.Millisecond, Max: 10 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &ssRunner{Runner: runner, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- runner.Run(ctx) }()
	t.Cleanup(func() { cancel(); _ = r.wait(t) })
	r.awaitReady(t, true, 5*time.Second, "at start")
	return r
}

// wait returns Run's result once it returned, failing the test after 10 s.
func (r *ssRunner) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for a later wait
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s")
		return nil
	}
}

func (r *ssRunner) awaitReady(t *testing.T, ready bool, timeout time.Duration, what string) {
	t.Helper()
	for deadline := time.Now().Add(timeout); r.Ready() != ready; {
		if time.Now().After(deadline) {
			t.Fatalf("runner Ready() = %v %s, want %v within %v", !ready, what, ready, timeout)
		}
		time.Sleep(10 * time.Millisecond) // readiness has no signal to await
	}
}

// window is what the source's subscriber holds now.
func window(src *StreamSea) streamsea.WindowStats {
	src.mu.Lock()
	r := src.run
	src.mu.Unlock()
	return r.sub.Window()
}

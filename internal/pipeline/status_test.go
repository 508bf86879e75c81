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

// switchSink is a MemSink whose Connect and Write fail with the error held in connectErr and
// writeErr while one is set.
type switchSink struct {
	*pipelinetest.MemSink
	connectErr, writeErr atomic.Pointer[error]
}

func (s *switchSink) Connect(ctx context.Context) error {
	if err := s.connectErr.Load(); err != nil {
		return *err
	}
	return s.MemSink.Connect(ctx)
}

func (s *switchSink) Write(ctx context.Context, batch []*pipeline.Message) error {
	if err := s.writeErr.Load(); err != nil {
		return *err
	}
	return s.MemSink.Write(ctx, batch)
}

// WritePrefix fails as Write does: the runner writes with it when poison messages stop it.
func (s *switchSink) WritePrefix(ctx context.Context, batch []*pipeline.Message) error {
	if err := s.writeErr.Load(); err != nil {
		return *err
	}
	return s.MemSink.WritePrefix(ctx, batch)
}

func set(p *atomic.Pointer[error], err error) {
	if err == nil {
		p.Store(nil)
		return
	}
	p.Store(&err)
}

func TestStatusFollowsTheRunner(t *testing.T) {
	rg := newRig(0)
	sink := &switchSink{MemSink: rg.sink}
	rg.opts.Sink = sink
	set(&sink.connectErr, errors.New("broker unreachable"))
	r, err := pipeline.NewRunner(rg.opts)
	if err != nil {
		t.Fatal(err)
	}
	state := func(want string) func() bool {
		return func() bool { return r.Status().State == want }
	}
	if st := r.Status(); st.State != pipeline.StateStarting || st.LastError != "" {
		t.Fatalf("before Run: %+v, want starting without an error", st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()

	waitFor(t, "retrying while the sink cannot connect", state(pipeline.StateRetrying))
	if st := r.Status(); !strings.Contains(st.LastError, "broker unreachable") || st.LastErrorAt.IsZero() {
		t.Fatalf("while connecting fails: %+v, want the connect error and its time", st)
	}
	set(&sink.connectErr, nil)
	waitFor(t, "running once connected", state(pipeline.StateRunning))

	set(&sink.writeErr, errors.New("leader not available"))
	rg.log.Append([]byte("m"))
	waitFor(t, "retrying while writes fail", state(pipeline.StateRetrying))
	if st := r.Status(); !strings.Contains(st.LastError, "leader not available") {
		t.Fatalf("while writes fail: %+v, want the write error", st)
	}
	set(&sink.writeErr, nil)
	waitFor(t, "running once the write succeeded", state(pipeline.StateRunning))
	rg.waitSink(t, 1)

	set(&sink.writeErr, fmt.Errorf("%w: topic deleted", pipeline.ErrFatal))
	rg.log.Append([]byte("m"))
	if err := <-done; !errors.Is(err, pipeline.ErrFatal) {
		t.Fatalf("Run = %v, want the fatal write error", err)
	}
	done <- nil
	if st := r.Status(); st.State != pipeline.StateFailed || !strings.Contains(st.LastError, "topic deleted") {
		t.Fatalf("after the fatal error: %+v, want failed with its reason", st)
	}
}

func TestStatusStoppedAfterACancel(t *testing.T) {
	rg := newRig(3)
	run := rg.start(t)
	rg.waitSink(t, 3)
	if st := run.runner.Status(); st.State != pipeline.StateRunning {
		t.Fatalf("while running: %+v", st)
	}
	if err := run.stop(); err != nil {
		t.Fatal(err)
	}
	if st := run.runner.Status(); st.State != pipeline.StateStopped || st.LastError != "" {
		t.Fatalf("after a clean stop: %+v, want stopped without an error", st)
	}
}

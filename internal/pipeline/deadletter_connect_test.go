package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/pipeline/pipelinetest"
)

// connectingDeadLetter is a MemDeadLetter with a connection of its own.
type connectingDeadLetter struct {
	*pipelinetest.MemDeadLetter
	mu          sync.Mutex
	connectErrs []error
	connects    int
	closes      int
}

func (d *connectingDeadLetter) Connect(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.connectErrs) > 0 {
		err := d.connectErrs[0]
		d.connectErrs = d.connectErrs[1:]
		return err
	}
	d.connects++
	return nil
}

func (d *connectingDeadLetter) Close(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closes++
	return nil
}

func (d *connectingDeadLetter) counts() (connects, closes int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.connects, d.closes
}

func TestDeadLetterIsConnectedWithRetriesAndClosed(t *testing.T) {
	rg := newRig(20)
	dl := &connectingDeadLetter{MemDeadLetter: rg.dl, connectErrs: []error{errors.New("broker down")}}
	rg.opts.DeadLetter = dl
	run := rg.start(t)
	waitFor(t, "ready after the dead-letter destination connected", run.runner.Ready)
	if c, _ := dl.counts(); c != 1 {
		t.Fatalf("dead-letter connects = %d, want 1 after one failed attempt", c)
	}
	run.cancel()
	if err := run.wait(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if _, closes := dl.counts(); closes != 1 {
		t.Fatalf("dead-letter closes = %d, want 1", closes)
	}
}

func TestFatalDeadLetterConnectStopsTheRunner(t *testing.T) {
	rg := newRig(1)
	rg.opts.DeadLetter = &connectingDeadLetter{MemDeadLetter: rg.dl,
		connectErrs: []error{errors.Join(pipeline.ErrFatal, errors.New("topic seabridge.dlq does not exist"))}}
	run := rg.start(t)
	err := run.wait()
	if !errors.Is(err, pipeline.ErrFatal) || !strings.Contains(err.Error(), "seabridge.dlq") {
		t.Fatalf("Run = %v, want the fatal dead-letter error", err)
	}
	if rg.sink.Connects() != 0 {
		t.Fatal("the sink was connected although the dead-letter destination could not be")
	}
}

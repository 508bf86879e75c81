package pipeline_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/backoff"
	"github.com/seabridge/seabridge/internal/pipeline"
)

// TestConnectionLostRightAfterConnectBacksOff covers a side whose connection is lost again at
// once after every successful Connect (a server that accepts the connection and then refuses
// the work): the runner must back off between those reconnects instead of reconnecting in a
// busy loop. Every retry waits at least half the policy's 10ms, so 20 losses in a row take
// well over 50ms with backoff and about nothing without.
func TestConnectionLostRightAfterConnectBacksOff(t *testing.T) {
	const losses = 20
	lost := fmt.Errorf("refused after connecting: %w", pipeline.ErrNotConnected)
	tests := []struct {
		side   string
		inject func(rg *rig)
	}{
		{"source", func(rg *rig) { rg.src.FailReads(losses, lost) }},
		{"sink", func(rg *rig) {
			errs := make([]error, losses)
			for i := range errs {
				errs[i] = lost
			}
			rg.sink.FailWrites(errs...)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.side, func(t *testing.T) {
			rg := newRig(1)
			rg.opts.Retry = backoff.Policy{Initial: 10 * time.Millisecond, Max: 10 * time.Millisecond}
			tt.inject(rg)
			start := time.Now()
			run := rg.start(t)
			rg.waitSink(t, 1)
			elapsed := time.Since(start)
			if err := run.stop(); err != nil {
				t.Fatalf("Run = %v", err)
			}
			rg.checkSettled(t, 1, 0)
			if min := (losses - 1) * 5 * time.Millisecond; elapsed < min {
				t.Errorf("%d lost connections in a row were retried within %v, want at least %v of backoff",
					losses, elapsed, min)
			}
		})
	}
}

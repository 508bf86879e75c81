package pipeline_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/backoff"
)

// throttled is a retriable error that asks for a delay, as an HTTP 429 with Retry-After does.
type throttled struct{ after time.Duration }

func (e throttled) Error() string             { return fmt.Sprintf("throttled, retry after %v", e.after) }
func (e throttled) RetryDelay() time.Duration { return e.after }

// The runner's own backoff would wait 30-60 s; the sink and connect errors ask for 100 ms, and
// the retries must come then: not sooner, and long before the backoff.
func TestRetryWaitsTheDelayTheErrorAsksFor(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(rg *rig, err error)
	}{
		{"write", func(rg *rig, err error) { rg.sink.FailWrites(err, err) }},
		{"connect", func(rg *rig, err error) { rg.sink.FailConnects(err, err) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const asked = 100 * time.Millisecond
			rg := newRig(20)
			rg.opts.Retry = backoff.Policy{Initial: time.Minute, Max: time.Minute}
			tc.fail(rg, fmt.Errorf("sink: %w", throttled{asked}))
			start := time.Now()
			run := rg.start(t)
			rg.waitSink(t, 20)
			if took := time.Since(start); took < 2*asked {
				t.Errorf("two retries took %v, want at least the 2×%v asked for", took, asked)
			}
			if err := run.stop(); err != nil {
				t.Fatalf("Run: %v", err)
			}
			rg.checkInOrder(t, 0, 20)
		})
	}
}

func TestRetryWithoutAnAskedDelayUsesTheBackoff(t *testing.T) {
	rg := newRig(5)
	rg.opts.Retry = backoff.Policy{Initial: time.Millisecond, Max: time.Millisecond}
	rg.sink.FailWrites(throttled{0}, errors.New("plain"))
	run := rg.start(t)
	rg.waitSink(t, 5)
	if err := run.stop(); err != nil {
		t.Fatal(err)
	}
}

package pipeline

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/backoff"
)

type asksDelay time.Duration

func (a asksDelay) Error() string             { return "asks" }
func (a asksDelay) RetryDelay() time.Duration { return time.Duration(a) }

func TestRetryDelay(t *testing.T) {
	policy := backoff.Policy{Initial: time.Second, Max: time.Second}
	for _, tc := range []struct {
		name     string
		err      error
		min, max time.Duration
	}{
		{"plain error: backoff", errors.New("x"), 500 * time.Millisecond, time.Second},
		{"asked, wrapped", fmt.Errorf("a: %w", asksDelay(3*time.Second)), 3 * time.Second, 3 * time.Second},
		{"asked zero: backoff", asksDelay(0), 500 * time.Millisecond, time.Second},
		{"asked too long: capped", asksDelay(time.Hour), MaxRetryAfter, MaxRetryAfter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bo := backoff.New(policy)
			got := retryDelay(bo, tc.err)
			if got < tc.min || got > tc.max {
				t.Errorf("retryDelay = %v, want in [%v, %v]", got, tc.min, tc.max)
			}
			if bo.Attempt() != 1 {
				t.Errorf("backoff attempt %d after one retry, want 1", bo.Attempt())
			}
		})
	}
}

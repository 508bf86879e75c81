package pipeline

import (
	"context"
	"errors"
	"time"

	"github.com/seabridge/seabridge/internal/backoff"
)

// MaxRetryAfter bounds the delay a RetryDelayer error may impose on one retry.
const MaxRetryAfter = 5 * time.Minute

// RetryDelayer is implemented by errors that carry the delay the server asked for before the
// same request is tried again (an HTTP Retry-After). When a failed Sink.Write or Connect
// returns one with a positive RetryDelay, anywhere in its chain, the runner waits exactly that
// long (at most MaxRetryAfter) before the next try instead of its own backoff delay.
type RetryDelayer interface {
	RetryDelay() time.Duration
}

// retryDelay returns how long to wait before retrying after err: the delay err asks for, or
// else bo's next delay. It advances bo either way, so that failures keep counting.
func retryDelay(bo *backoff.Backoff, err error) time.Duration {
	delay := bo.Next()
	var rd RetryDelayer
	if errors.As(err, &rd) {
		if asked := rd.RetryDelay(); asked > 0 {
			return min(asked, MaxRetryAfter)
		}
	}
	return delay
}

// waitRetry sleeps retryDelay(bo, err), returning ctx's error if it ends first.
func waitRetry(ctx context.Context, bo *backoff.Backoff, err error) error {
	return backoff.Sleep(ctx, retryDelay(bo, err))
}

// Package backoff computes capped exponential retry delays with full jitter, and sleeps them
// while honouring a context. It is written once here and used by every retry loop.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Policy describes a capped exponential backoff. The zero value uses the defaults.
type Policy struct {
	Initial    time.Duration // first delay ceiling; default 200ms
	Max        time.Duration // largest delay ceiling; default 30s
	Multiplier float64       // growth per attempt; default 2
}

func (p Policy) withDefaults() Policy {
	if p.Initial <= 0 {
		p.Initial = 200 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 30 * time.Second
	}
	if p.Max < p.Initial {
		p.Max = p.Initial
	}
	if p.Multiplier < 1 {
		p.Multiplier = 2
	}
	return p
}

// Ceiling returns the upper bound of the delay before retry number attempt (0-based), before
// jitter: Initial * Multiplier^attempt, capped at Max.
func (p Policy) Ceiling(attempt int) time.Duration {
	p = p.withDefaults()
	d := float64(p.Initial)
	for i := 0; i < attempt && d < float64(p.Max); i++ {
		d *= p.Multiplier
	}
	if d > float64(p.Max) {
		d = float64(p.Max)
	}
	return time.Duration(d)
}

// Delay returns the delay before retry number attempt: a uniformly random duration in
// [Ceiling/2, Ceiling] ("equal jitter"), so that retries never collapse to zero and many
// clients do not retry in step.
func (p Policy) Delay(attempt int) time.Duration {
	c := p.Ceiling(attempt)
	half := c / 2
	if half <= 0 {
		return c
	}
	return half + rand.N(c-half+1)
}

// Backoff tracks the attempt count of one retry loop. It is not safe for concurrent use.
type Backoff struct {
	Policy  Policy
	attempt int
}

// New returns a Backoff for p.
func New(p Policy) *Backoff { return &Backoff{Policy: p} }

// Next returns the delay before the next retry and advances the attempt count.
func (b *Backoff) Next() time.Duration {
	d := b.Policy.Delay(b.attempt)
	b.attempt++
	return d
}

// Attempt returns how many delays Next has handed out since the last Reset.
func (b *Backoff) Attempt() int { return b.attempt }

// Reset starts the sequence again; call it after a success.
func (b *Backoff) Reset() { b.attempt = 0 }

// Wait sleeps for the next delay, returning early with ctx.Err() when ctx is done.
func (b *Backoff) Wait(ctx context.Context) error {
	return Sleep(ctx, b.Next())
}

// Sleep waits for d or until ctx is done, whichever is first.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

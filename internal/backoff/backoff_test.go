package backoff

import (
	"context"
	"testing"
	"time"
)

func TestCeiling(t *testing.T) {
	p := Policy{Initial: 100 * time.Millisecond, Max: time.Second, Multiplier: 2}
	cases := []struct {
		attempt int
		want    time.Duration
	}{
		{0, 100 * time.Millisecond},
		{1, 200 * time.Millisecond},
		{3, 800 * time.Millisecond},
		{4, time.Second},
		{1000, time.Second},
	}
	for _, c := range cases {
		if got := p.Ceiling(c.attempt); got != c.want {
			t.Errorf("Ceiling(%d) = %v, want %v", c.attempt, got, c.want)
		}
	}
}

func TestDelayWithinJitterBounds(t *testing.T) {
	p := Policy{Initial: 10 * time.Millisecond, Max: 80 * time.Millisecond}
	for attempt := 0; attempt < 10; attempt++ {
		c := p.Ceiling(attempt)
		for i := 0; i < 200; i++ {
			d := p.Delay(attempt)
			if d < c/2 || d > c {
				t.Fatalf("Delay(%d) = %v, want in [%v, %v]", attempt, d, c/2, c)
			}
		}
	}
}

func TestDefaults(t *testing.T) {
	var p Policy
	if got := p.Ceiling(0); got != 200*time.Millisecond {
		t.Errorf("default initial = %v", got)
	}
	if got := p.Ceiling(100); got != 30*time.Second {
		t.Errorf("default max = %v", got)
	}
}

func TestBackoffResetAndAttempt(t *testing.T) {
	b := New(Policy{Initial: time.Millisecond, Max: 4 * time.Millisecond})
	b.Next()
	b.Next()
	if b.Attempt() != 2 {
		t.Fatalf("attempt = %d, want 2", b.Attempt())
	}
	b.Reset()
	if b.Attempt() != 0 {
		t.Fatalf("attempt after reset = %d", b.Attempt())
	}
}

func TestSleepHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := Sleep(ctx, time.Hour); err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if time.Since(start) > time.Second {
		t.Fatal("Sleep did not return promptly on a cancelled context")
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("err = %v", err)
	}
}

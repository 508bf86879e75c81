package pipeline

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// States of a runner, as Status reports them.
const (
	StateStarting = "starting" // Run connects for the first time and nothing has failed yet (also before Run)
	StateRunning  = "running"  // the source and the sink are connected and nothing is being retried
	StateRetrying = "retrying" // a connect, read, write or dead-letter write failed and is being retried, or a connection was lost
	StateStopping = "stopping" // Run's context is done: the runner drains
	StateFailed   = "failed"   // Run returned because of an error of its own (fatal, poison with policy stop, ...)
	StateStopped  = "stopped"  // Run returned after its context was done
)

// Status is what a runner is doing and the last error it met.
type Status struct {
	State       string
	LastError   string    // "" when none yet
	LastErrorAt time.Time // zero when none yet
}

// Runner phases, in runnerStatus.phase.
const (
	phaseNew int32 = iota
	phaseRunning
	phaseStopping
	phaseDone
)

// runnerStatus backs Status; every field is safe for concurrent use.
type runnerStatus struct {
	phase     atomic.Int32
	failed    atomic.Bool // set before phase becomes phaseDone
	everReady atomic.Bool
	lastErr   atomic.Pointer[errorNote]
}

type errorNote struct {
	text string
	at   time.Time
}

func (s *runnerStatus) note(err error) {
	s.lastErr.Store(&errorNote{text: err.Error(), at: time.Now()})
}

// stoppedByItself reports whether err, returned by the run loop, stopped the runner by itself
// rather than reporting on a stop that ctx asked for (a shutdown budget that ran out).
func stoppedByItself(ctx context.Context, err error) bool {
	return ctx.Err() == nil || errors.Is(err, ErrFatal) || errors.Is(err, ErrPoisonMessage) ||
		errors.Is(err, ErrDeadLetterRefused)
}

// Status reports the runner's state and its last error. Safe for concurrent use.
func (r *Runner) Status() Status {
	var st Status
	if n := r.status.lastErr.Load(); n != nil {
		st.LastError, st.LastErrorAt = n.text, n.at
	}
	switch r.status.phase.Load() {
	case phaseDone:
		st.State = StateStopped
		if r.status.failed.Load() {
			st.State = StateFailed
		}
		return st
	case phaseStopping:
		st.State = StateStopping
		return st
	}
	ready := r.Ready()
	switch {
	case r.retrying.Load() > 0 || (!ready && r.status.everReady.Load()):
		st.State = StateRetrying
	case !ready:
		st.State = StateStarting
	default:
		st.State = StateRunning
	}
	return st
}

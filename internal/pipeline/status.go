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

// Status reports the runner's state and its last error. Safe for concurrent use. Every error
// is noted before the state it causes is set, and the state is read first here, so that a
// state of retrying or failed comes with the error that caused it.
func (r *Runner) Status() Status {
	st := Status{State: r.state()}
	if n := r.status.lastErr.Load(); n != nil {
		st.LastError, st.LastErrorAt = n.text, n.at
	}
	return st
}

func (r *Runner) state() string {
	switch r.status.phase.Load() {
	case phaseDone:
		if r.status.failed.Load() {
			return StateFailed
		}
		return StateStopped
	case phaseStopping:
		return StateStopping
	}
	ready := r.Ready()
	switch {
	case r.retrying.Load() > 0 || (!ready && r.status.everReady.Load()):
		return StateRetrying
	case !ready:
		return StateStarting
	default:
		return StateRunning
	}
}

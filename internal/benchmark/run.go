package benchmark

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"
)

// Run runs the selected scenarios one after another and returns their results with the
// machine facts. A scenario that fails or times out is reported in its Result and the next one
// still runs; Run itself fails only on bad options. Progress lines go to o.Progress.
func Run(ctx context.Context, o Options) (*Report, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	rep := &Report{Machine: machineFacts(o), Settings: settingsOf(o), Started: time.Now().UTC()}
	for _, sc := range scenarios() {
		if len(o.Scenarios) > 0 && !slices.Contains(o.Scenarios, sc.name) {
			continue
		}
		if ctx.Err() != nil {
			rep.Results = append(rep.Results, Result{Scenario: sc.name, Includes: sc.includes, Error: "not run: " + ctx.Err().Error()})
			continue
		}
		rep.Results = append(rep.Results, runScenario(ctx, o, sc))
	}
	return rep, nil
}

// runScenario runs one scenario within o.Timeout, printing progress while it runs.
func runScenario(ctx context.Context, o Options, sc scenario) Result {
	runtime.GC() // start each window without the previous scenario's garbage
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	p := newProbe(o.Messages, sc.latency, sc.openOnFirst)
	fmt.Fprintf(o.Progress, "bench: %s: starting (%d messages of %d bytes)\n", sc.name, o.Messages, o.Size)
	stop := startProgress(o, sc.name, p)
	err := sc.run(ctx, o, p)
	stop()
	r := p.result(sc, err)
	if r.OK() {
		fmt.Fprintf(o.Progress, "bench: %s: done, %d messages in %.2fs (%.0f msg/s)\n", sc.name, r.Messages, r.Seconds, r.MsgPerSec)
	} else {
		fmt.Fprintf(o.Progress, "bench: %s: FAILED after %d of %d messages: %s\n", sc.name, r.Messages, o.Messages, r.Error)
	}
	return r
}

// startProgress prints a line every o.ProgressEvery until the returned func is called; that
// func waits for the printing goroutine to return.
func startProgress(o Options, name string, p *Probe) func() {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(o.ProgressEvery)
		defer t.Stop()
		began, prev := time.Now(), int64(0)
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			n := p.Received()
			fmt.Fprintf(o.Progress, "bench: %s: %d/%d received after %s (%.0f msg/s now)\n", name, n, o.Messages,
				time.Since(began).Round(time.Second), float64(n-prev)/o.ProgressEvery.Seconds())
			prev = n
		}
	})
	return func() {
		close(stop)
		wg.Wait()
	}
}

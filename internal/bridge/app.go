// Package bridge assembles a running bridge from a validated config: it wires every pipeline's
// source, mapping, sink, dead-letter writer and consumer-group lag collector, and the HTTP
// server, runs them together, applies a new config to the pipelines it changes (Reload), and
// stops them in order (pipelines, then the HTTP server), reporting every part's error.
// cmd/bridge is a thin shell around it, and the end-to-end tests drive it directly.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seabridge/seabridge/internal/config"
	"github.com/seabridge/seabridge/internal/observe"
	"github.com/seabridge/seabridge/internal/pipeline"
)

// App is a running bridge: the pipelines of one config and the HTTP server. A pipeline that
// stops by itself on an error stops the others (bridge.on_pipeline_failure = "stop"), or
// stays failed while the others run on ("isolate"). See Run and Reload.
type App struct {
	version string
	log     *slog.Logger
	reg     *prometheus.Registry // the process's metrics; every unit's through units and lags
	units   *unitMetrics
	lags    *lagMetrics
	reloads *reloadMetrics
	http    *observe.Server // nil when http.listen is ""

	reloadMu sync.Mutex // one reload at a time

	mu       sync.Mutex
	cfg      *config.Config // the config applied: New's, or the last reload's
	pipes    []*unit        // in config order; a reload's retired units stay until they drained
	run      *runState      // nil until Run starts
	stopping atomic.Bool    // set when the stop begins (under mu); readiness answers 503 from then on
}

// runState is what Run shares with the units it starts and with Reload.
type runState struct {
	ctx    context.Context // the pipelines' context, cancelled at the stop
	exited chan *unit      // a unit's runner returned (by itself, or because a reload stopped it)
	gone   chan struct{}   // closed when Run no longer receives on exited
}

// shuttingDown is the readiness reason while the bridge stops.
const shuttingDown = "shutting down: draining the pipelines (/metrics serves until the drain is over)"

// New wires cfg. It binds the HTTP listener but dials no server.
func New(cfg *config.Config, version string, logger *slog.Logger) (*App, error) {
	reg := observe.NewRegistry(version)
	a := &App{
		version: version, log: logger, reg: reg, cfg: cfg,
		units:   newUnitMetrics(),
		lags:    &lagMetrics{tmpl: observe.NewLagCollector(observe.LagOptions{}, logger)},
		reloads: newReloadMetrics(reg),
	}
	reg.MustRegister(a.units, a.lags)
	units, err := a.build(cfg, nil)
	if err != nil {
		return nil, err
	}
	for _, p := range cfg.Pipelines {
		if u := units[p.Name]; u != nil {
			a.pipes = append(a.pipes, u)
			a.units.add(u.reg) // the series exist, at 0, before anything runs
			a.lags.add(u.bp.lag)
		} else {
			logger.Info("pipeline disabled", "pipeline", p.Name)
		}
	}
	if cfg.HTTP.Listen != "" {
		opts := observe.ServerOptions{
			Listen: cfg.HTTP.Listen, Gatherer: reg, Pprof: cfg.HTTP.Pprof,
			Checks: a.readiness, Routes: a.pipelineRoutes(),
		}
		if a.http, err = observe.NewServer(opts, logger); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// build wires the enabled pipelines of cfg named in names (every one when names is nil).
func (a *App) build(cfg *config.Config, names map[string]bool) (map[string]*unit, error) {
	w := newWiring(cfg, a.version, a.log)
	out := map[string]*unit{}
	for _, p := range cfg.Pipelines {
		if !p.Enabled || (names != nil && !names[p.Name]) {
			continue
		}
		u, err := w.unitOf(p)
		if err != nil {
			return nil, err
		}
		out[p.Name] = u
	}
	return out, nil
}

// Run runs the pipelines and the HTTP server until ctx is done (a soft stop), the HTTP server
// fails, or a pipeline stops by itself: on an error with bridge.on_pipeline_failure = "isolate"
// that pipeline stays failed and the others run on; otherwise the bridge stops. The stop runs
// in this order, so that the final counters can be scraped: /readyz answers 503 ("shutting
// down") at once; every pipeline drains within its shutdown budget and closes, then logs one
// summary line (and a second line when it gave up on messages); a reload under way finishes;
// the HTTP server stops last. Run returns the errors of every pipeline present at the stop
// (failed ones included) and of the HTTP server, joined in config order, or nil when everything
// stopped cleanly. It may be called once.
func (a *App) Run(ctx context.Context) error {
	start := time.Now()
	pipeCtx, stopPipelines := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPipelines()
	httpCtx, stopHTTP := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHTTP()

	rs := &runState{ctx: pipeCtx, exited: make(chan *unit), gone: make(chan struct{})}
	a.mu.Lock()
	if a.run != nil {
		a.mu.Unlock()
		return errors.New("bridge: Run called twice")
	}
	a.run = rs
	for _, u := range a.pipes {
		a.startLocked(u)
	}
	n := len(a.pipes)
	a.mu.Unlock()

	var httpErr error
	httpDone := make(chan struct{})
	go func() {
		defer close(httpDone)
		if a.http != nil {
			httpErr = a.http.Run(httpCtx)
		}
	}()
	a.log.Info("bridge running", "version", a.version, "pipelines", n)

	a.watch(ctx, rs, a.httpStopped(httpDone))
	close(rs.gone)
	a.mu.Lock()
	a.stopping.Store(true)
	pipes := slices.Clone(a.pipes)
	a.mu.Unlock()
	for _, u := range pipes {
		u.cancel() // they all drain at once
	}
	errs := make([]error, 0, len(pipes)+1)
	for _, u := range pipes {
		if err := u.stop(); err != nil && !u.retired.Load() {
			errs = append(errs, err)
		}
	}
	a.reloadMu.Lock() // a reload under way stops what it retired and starts nothing more
	a.reloadMu.Unlock()
	stopHTTP()
	<-httpDone

	err := errors.Join(append(errs, httpErr)...)
	if err != nil {
		a.log.Error("bridge stopped", "after", time.Since(start).Round(time.Millisecond), "error", err)
	} else {
		a.log.Info("bridge stopped", "after", time.Since(start).Round(time.Millisecond))
	}
	return err
}

// watch returns when the bridge must stop: ctx is done, the HTTP server stopped, or a
// pipeline stopped by itself and bridge.on_pipeline_failure does not isolate it.
func (a *App) watch(ctx context.Context, rs *runState, httpStopped <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			a.log.Info("shutting down: stopping intake, flushing what was received, committing offsets")
			return
		case <-httpStopped:
			a.log.Warn("shutting down: the HTTP server stopped")
			return
		case u := <-rs.exited:
			if u.retired.Load() {
				continue // a reload stopped it
			}
			a.mu.Lock()
			isolate := a.cfg.Bridge.OnPipelineFailure == config.FailureIsolate
			a.mu.Unlock()
			if isolate && u.failed.Load() {
				a.log.Error("pipeline failed; the other pipelines run on (bridge.on_pipeline_failure = \"isolate\"): it stays failed until a reload (SIGHUP) or a restart",
					"pipeline", u.name, "error", u.err)
				continue
			}
			a.log.Warn("shutting down: pipeline "+u.name+" stopped", "pipeline", u.name)
			return
		}
	}
}

// startLocked starts u under the run's context and adds its metrics (when they are not yet);
// a.mu is held.
func (a *App) startLocked(u *unit) {
	a.units.add(u.reg)
	a.lags.add(u.bp.lag)
	u.start(a.run.ctx, a.log, a.run.exited, a.run.gone)
}

// dropLocked removes a stopped unit and its metrics; a.mu is held.
func (a *App) dropLocked(u *unit) {
	a.pipes = slices.DeleteFunc(a.pipes, func(x *unit) bool { return x == u })
	a.units.remove(u.reg)
	a.lags.remove(u.bp.lag)
}

// httpStopped is a channel closed when the HTTP server stopped by itself, or nil (never
// ready) when there is no HTTP server.
func (a *App) httpStopped(done chan struct{}) chan struct{} {
	if a.http == nil {
		return nil
	}
	return done
}

// current returns the units present, in config order.
func (a *App) current() []*unit {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.pipes)
}

// readiness lists the checks of /readyz: the bridge, and each pipeline present that no
// reload is stopping.
func (a *App) readiness() []observe.ReadinessCheck {
	checks := []observe.ReadinessCheck{{Name: "bridge", Ready: func() (bool, string) {
		if a.stopping.Load() {
			return false, shuttingDown
		}
		return true, ""
	}}}
	for _, u := range a.current() {
		if u.retired.Load() {
			continue
		}
		checks = append(checks, observe.ReadinessCheck{Name: "pipeline/" + u.name, Ready: func() (bool, string) {
			switch {
			case a.stopping.Load():
				return false, shuttingDown
			case u.failed.Load():
				return false, fmt.Sprintf("failed: %v (it stays failed until a reload or a restart)", u.err)
			case u.bp.runner.Ready():
				return true, ""
			}
			return false, "source or sink not connected, the stream-sea websocket down, or the Kafka consumer group not joined (see the logs, seabridge_pipeline_up, seabridge_streamsea_ws_connected and seabridge_kafka_group_join_errors_total)"
		}})
	}
	return checks
}

// PipelineStats is a snapshot of one pipeline's counters.
type PipelineStats struct {
	Name string
	pipeline.Stats
}

// Stats returns a snapshot of every pipeline's counters, in config order.
func (a *App) Stats() []PipelineStats {
	pipes := a.current()
	out := make([]PipelineStats, len(pipes))
	for i, u := range pipes {
		out[i] = PipelineStats{Name: u.name, Stats: u.bp.runner.Stats()}
	}
	return out
}

// HTTPAddr is the address of the metrics and health server, or "" when it is disabled.
func (a *App) HTTPAddr() string {
	if a.http == nil {
		return ""
	}
	return a.http.Addr()
}

// Registry is the Prometheus registry of this App: the process's metrics and those of every
// pipeline present.
func (a *App) Registry() *prometheus.Registry { return a.reg }

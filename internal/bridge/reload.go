package bridge

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seabridge/seabridge/internal/config"
)

// ErrNotRunning is returned by Reload before Run started or once it stops.
var ErrNotRunning = errors.New("the bridge is not running")

// ReloadReport says what a reload changed, by pipeline name.
type ReloadReport struct {
	Added     []string // started
	Removed   []string // drained and stopped, their metrics gone
	Changed   []string // drained and started again with the new config
	Restarted []string // failed (isolated) with an unchanged config: started again
	Unchanged []string // left running untouched
	// RestartRequired names the process-wide settings that changed and apply only at the
	// next start (http.listen, ...): the running values stay.
	RestartRequired []string
}

// restartOnly are the settings a reload cannot apply, with how to read each.
var restartOnly = []struct {
	key string
	get func(*config.Config) any
}{
	{"http.listen", func(c *config.Config) any { return c.HTTP.Listen }},
	{"http.pprof", func(c *config.Config) any { return c.HTTP.Pprof }},
	{"bridge.log_level", func(c *config.Config) any { return c.Bridge.LogLevel }},
	{"bridge.log_format", func(c *config.Config) any { return c.Bridge.LogFormat }},
}

// Reload applies the config load returns, while Run runs. A config that does not load or
// cannot be wired is rejected: it is logged and counted, and the running pipelines are left
// as they are. Otherwise only the pipelines whose config changed (their own table, the
// connections they use, bridge.shutdown_timeout or bridge.instance_id) are replaced; added
// ones start, removed ones stop and their metrics go away, failed ones start again, and the
// others run on untouched. bridge.on_pipeline_failure applies at once; the settings of
// restartOnly keep their running values and are reported.
//
// A pipeline stops as at a shutdown: it drains within its shutdown budget, commits and closes
// (so that its spool directory is free) before its replacement starts. A stream-sea source
// without a spool, or whose spool directory changes, is the exception: its replacement
// subscribes first, in the same group, and the old one stops once the new one is ready (or
// after the shutdown budget), so that no message is published while neither is subscribed.
//
// Reload returns once every replaced pipeline has stopped and its replacement started. Reloads
// run one at a time; Reload is safe for concurrent use.
func (a *App) Reload(load func() (*config.Config, error)) (ReloadReport, error) {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	a.mu.Lock()
	running := a.run != nil && !a.stopping.Load()
	old := a.cfg
	failed := map[string]bool{}
	for _, u := range a.pipes {
		failed[u.name] = failed[u.name] || u.failed.Load()
	}
	a.mu.Unlock()
	if !running {
		return ReloadReport{}, ErrNotRunning
	}
	cfg, err := load()
	if err != nil {
		return ReloadReport{}, a.rejectReload(err)
	}
	rep := diffConfigs(old, cfg, failed)
	build := map[string]bool{}
	for _, n := range slices.Concat(rep.Added, rep.Changed, rep.Restarted) {
		build[n] = true
	}
	fresh, err := a.build(cfg, build)
	if err != nil {
		return ReloadReport{}, a.rejectReload(err)
	}
	a.reloads.succeeded(rep)
	a.log.Info("config reloaded", "added", rep.Added, "removed", rep.Removed, "changed", rep.Changed,
		"restarted", rep.Restarted, "unchanged", rep.Unchanged)
	if len(rep.RestartRequired) > 0 {
		a.log.Warn("config reload: these settings apply only at the next start; the running values stay",
			"restart_required", rep.RestartRequired)
	}
	a.apply(cfg, rep, fresh)
	return rep, nil
}

func (a *App) rejectReload(err error) error {
	a.reloads.failed()
	a.log.Error("config reload rejected: the running config stays", "error", err)
	return fmt.Errorf("reload rejected: %w", err)
}

// apply replaces the units of rep with fresh ones and waits until it is done.
func (a *App) apply(cfg *config.Config, rep ReloadReport, fresh map[string]*unit) {
	a.mu.Lock()
	if a.stopping.Load() {
		a.mu.Unlock()
		return // the stop drains what runs; nothing more starts
	}
	a.cfg = cfg
	byName := map[string]*unit{}
	for _, u := range a.pipes {
		if !u.retired.Load() {
			byName[u.name] = u
		}
	}
	for _, name := range rep.Added {
		a.pipes = append(a.pipes, fresh[name])
		a.startLocked(fresh[name])
	}
	a.sortLocked()
	a.mu.Unlock()

	var wg sync.WaitGroup
	for _, name := range rep.Removed {
		old := byName[name]
		wg.Go(func() { a.replace(old, nil, cfg.Bridge.ShutdownTimeout) })
	}
	for _, name := range slices.Concat(rep.Changed, rep.Restarted) {
		old, next := byName[name], fresh[name]
		wg.Go(func() { a.replace(old, next, cfg.Bridge.ShutdownTimeout) })
	}
	wg.Wait()
}

// replace stops old and starts next (nil: none) in its place: after old stopped, or, when
// they may overlap, first, stopping old once next is ready or after wait.
func (a *App) replace(old, next *unit, wait time.Duration) {
	old.retired.Store(true)
	if next != nil && overlaps(old, next) {
		a.mu.Lock()
		if a.stopping.Load() {
			a.mu.Unlock()
			next = nil
		} else {
			a.units.remove(old.reg) // two registries may not export the same series
			a.lags.remove(old.bp.lag)
			a.pipes = append(a.pipes, next)
			a.startLocked(next)
			a.sortLocked()
			a.mu.Unlock()
			awaitReady(next, wait)
			next = nil
		}
	}
	_ = old.stop() // its summary line is logged; its errors are the reload's log only
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dropLocked(old)
	if next != nil && !a.stopping.Load() {
		a.pipes = append(a.pipes, next)
		a.startLocked(next)
		a.sortLocked()
	}
}

// overlaps reports whether next may run beside old: a stream-sea source whose old unit holds
// no spool directory next needs. The others must stop first: a Kafka source's group
// hands its partitions over cleanly only once the old member left, and a spool directory is
// locked by one process at a time.
func overlaps(old, next *unit) bool {
	o, n := old.spec.Pipeline, next.spec.Pipeline
	if o.Source.Type != config.EndpointStreamsea || n.Source.Type != config.EndpointStreamsea {
		return false
	}
	return !o.Spool.Enabled() || !n.Spool.Enabled() || o.Spool.Dir != n.Spool.Dir
}

// awaitReady waits until u's runner is ready, stops by itself, or wait passed.
func awaitReady(u *unit, wait time.Duration) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !u.bp.runner.Ready() {
		select {
		case <-deadline.C:
			return
		case <-u.runnerDone:
			return
		case <-tick.C:
		}
	}
}

// sortLocked orders a.pipes as a.cfg lists them (a retired unit before its replacement);
// a.mu is held.
func (a *App) sortLocked() {
	pos := map[string]int{}
	for i, p := range a.cfg.Pipelines {
		pos[p.Name] = i
	}
	slices.SortStableFunc(a.pipes, func(x, y *unit) int {
		px, okx := pos[x.name]
		py, oky := pos[y.name]
		switch {
		case !okx && !oky:
			return 0
		case !okx: // removed: last
			return 1
		case !oky:
			return -1
		}
		return px - py
	})
}

// diffConfigs compares the enabled pipelines of two configs; failed names pipelines that
// stopped on an error, started again even when unchanged.
func diffConfigs(old, cfg *config.Config, failed map[string]bool) ReloadReport {
	var rep ReloadReport
	before := map[string]unitSpec{}
	for _, p := range old.Pipelines {
		if p.Enabled {
			before[p.Name] = specOf(old, p)
		}
	}
	after := map[string]bool{}
	for _, p := range cfg.Pipelines {
		if !p.Enabled {
			continue
		}
		after[p.Name] = true
		prev, ok := before[p.Name]
		switch {
		case !ok:
			rep.Added = append(rep.Added, p.Name)
		case !prev.equal(specOf(cfg, p)):
			rep.Changed = append(rep.Changed, p.Name)
		case failed[p.Name]:
			rep.Restarted = append(rep.Restarted, p.Name)
		default:
			rep.Unchanged = append(rep.Unchanged, p.Name)
		}
	}
	for _, p := range old.Pipelines {
		if p.Enabled && !after[p.Name] {
			rep.Removed = append(rep.Removed, p.Name)
		}
	}
	for _, s := range restartOnly {
		if s.get(old) != s.get(cfg) {
			rep.RestartRequired = append(rep.RestartRequired, s.key)
		}
	}
	return rep
}

// reloadMetrics count reloads, as Prometheus' own config reload metrics do.
type reloadMetrics struct {
	total           *prometheus.CounterVec
	lastOK          prometheus.Gauge
	lastOKAt        prometheus.Gauge
	restartRequired prometheus.Gauge
}

func newReloadMetrics(reg prometheus.Registerer) *reloadMetrics {
	m := &reloadMetrics{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "seabridge", Subsystem: "config", Name: "reloads_total",
			Help: "Config reloads (SIGHUP), by result: success (applied) or failure (rejected; the running config stays).",
		}, []string{"result"}),
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "seabridge", Subsystem: "config", Name: "last_reload_successful",
			Help: "1 when the last reload was applied (or none was tried), 0 when it was rejected.",
		}),
		lastOKAt: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "seabridge", Subsystem: "config", Name: "last_reload_success_timestamp_seconds",
			Help: "When the running config was applied (the start, or the last successful reload), in Unix seconds.",
		}),
		restartRequired: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "seabridge", Subsystem: "config", Name: "restart_required",
			Help: "1 when the last successful reload changed settings that apply only at the next start (http.listen, http.pprof, bridge.log_level, bridge.log_format).",
		}),
	}
	reg.MustRegister(m.total, m.lastOK, m.lastOKAt, m.restartRequired)
	m.total.WithLabelValues("success")
	m.total.WithLabelValues("failure")
	m.lastOK.Set(1)
	m.lastOKAt.SetToCurrentTime()
	return m
}

func (m *reloadMetrics) succeeded(rep ReloadReport) {
	m.total.WithLabelValues("success").Inc()
	m.lastOK.Set(1)
	m.lastOKAt.SetToCurrentTime()
	if len(rep.RestartRequired) > 0 {
		m.restartRequired.Set(1)
	}
}

func (m *reloadMetrics) failed() {
	m.total.WithLabelValues("failure").Inc()
	m.lastOK.Set(0)
}

// Package bridge assembles a running bridge from a validated config: it wires every pipeline's
// source, mapping, sink and dead-letter writer, the consumer-group lag collectors and the HTTP
// server, and runs them as actors of one group. cmd/bridge is a thin shell around it, and the
// end-to-end tests drive it directly.
package bridge

import (
	"context"
	"log/slog"
	"time"

	rungroup "github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/seabridge/seabridge/internal/config"
	"github.com/seabridge/seabridge/internal/observe"
	"github.com/seabridge/seabridge/internal/pipeline"
)

// App is a running bridge: the pipelines of one config, the lag collectors and the HTTP
// server, run as actors of one group. The first actor to fail stops the others.
type App struct {
	version   string
	log       *slog.Logger
	reg       *prometheus.Registry
	pipelines []*builtPipeline
	lag       []*observe.LagCollector
	http      *observe.Server // nil when http.listen is ""
}

// New wires cfg. It binds the HTTP listener but dials no server.
func New(cfg *config.Config, version string, logger *slog.Logger) (*App, error) {
	reg := observe.NewRegistry(version)
	w := newWiring(cfg, version, logger, newMetricSets(reg))
	pipes, err := w.pipelines()
	if err != nil {
		return nil, err
	}
	lag, err := w.lagCollectors(reg)
	if err != nil {
		return nil, err
	}
	a := &App{version: version, log: logger, reg: reg, pipelines: pipes, lag: lag}
	if cfg.HTTP.Listen != "" {
		checks := make([]observe.ReadinessCheck, len(pipes))
		for i, p := range pipes {
			r := p.runner
			checks[i] = observe.ReadinessCheck{Name: "pipeline/" + p.name, Ready: func() (bool, string) {
				if r.Ready() {
					return true, ""
				}
				return false, "source or sink not connected, the stream-sea websocket down, or the Kafka consumer group not joined (see the logs, seabridge_pipeline_up, seabridge_streamsea_ws_connected and seabridge_kafka_group_join_errors_total)"
			}}
		}
		if a.http, err = observe.NewServer(observe.ServerOptions{Listen: cfg.HTTP.Listen, Gatherer: reg, Checks: checks}, logger); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Run runs every actor until ctx is done (soft stop: each pipeline drains within its
// shutdown budget) or one actor fails, which stops the rest.
func (a *App) Run(ctx context.Context) error {
	var g rungroup.Group
	for _, p := range a.pipelines {
		pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		g.Add(func() error { return p.runner.Run(pctx) }, func(error) { cancel() })
	}
	for _, l := range a.lag {
		lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		g.Add(func() error { return l.Run(lctx) }, func(error) { cancel() })
	}
	if a.http != nil {
		hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		g.Add(func() error { return a.http.Run(hctx) }, func(error) { cancel() })
	}
	stopped := make(chan struct{})
	g.Add(func() error {
		select {
		case <-ctx.Done():
			a.log.Info("shutting down: stopping intake, flushing what was received, committing offsets")
			return nil
		case <-stopped:
			return nil
		}
	}, func(error) { close(stopped) })
	a.log.Info("bridge running", "version", a.version, "pipelines", len(a.pipelines))
	start := time.Now()
	err := g.Run()
	a.log.Info("bridge stopped", "after", time.Since(start).Round(time.Millisecond), "error", err)
	return err
}

// PipelineStats is a snapshot of one pipeline's counters.
type PipelineStats struct {
	Name string
	pipeline.Stats
}

// Stats returns a snapshot of every pipeline's counters, in config order.
func (a *App) Stats() []PipelineStats {
	out := make([]PipelineStats, len(a.pipelines))
	for i, p := range a.pipelines {
		out[i] = PipelineStats{Name: p.name, Stats: p.runner.Stats()}
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

// Registry is the Prometheus registry every metric of this App is registered with.
func (a *App) Registry() *prometheus.Registry { return a.reg }

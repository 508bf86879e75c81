// Package bridge assembles a running bridge from a validated config: it wires every pipeline's
// source, mapping, sink and dead-letter writer, the consumer-group lag collectors and the HTTP
// server, runs them together and stops them in order (pipelines, lag collectors, HTTP server
// last), reporting every part's error. cmd/bridge is a thin shell around it, and the
// end-to-end tests drive it directly.
package bridge

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seabridge/seabridge/internal/config"
	"github.com/seabridge/seabridge/internal/observe"
	"github.com/seabridge/seabridge/internal/pipeline"
)

// App is a running bridge: the pipelines of one config, the lag collectors and the HTTP
// server. The first part to stop by itself stops the others (see Run).
type App struct {
	version   string
	log       *slog.Logger
	reg       *prometheus.Registry
	pipelines []*builtPipeline
	lag       []*observe.LagCollector
	http      *observe.Server // nil when http.listen is ""

	stopping atomic.Bool // set when the stop begins; readiness answers 503 from then on
}

// shuttingDown is the readiness reason while the bridge stops.
const shuttingDown = "shutting down: draining the pipelines (/metrics serves until the drain is over)"

// New wires cfg. It binds the HTTP listener but dials no server.
func New(cfg *config.Config, version string, logger *slog.Logger) (*App, error) {
	reg := observe.NewRegistry(version)
	w := newWiring(cfg, version, logger, newMetricSets(reg))
	pipes, err := w.pipelines()
	if err != nil {
		return nil, err
	}
	lag, err := w.lagCollectors(reg, pipes)
	if err != nil {
		return nil, err
	}
	a := &App{version: version, log: logger, reg: reg, pipelines: pipes, lag: lag}
	if cfg.HTTP.Listen != "" {
		checks := []observe.ReadinessCheck{{Name: "bridge", Ready: func() (bool, string) {
			if a.stopping.Load() {
				return false, shuttingDown
			}
			return true, ""
		}}}
		for _, p := range pipes {
			r := p.runner
			checks = append(checks, observe.ReadinessCheck{Name: "pipeline/" + p.name, Ready: func() (bool, string) {
				if a.stopping.Load() {
					return false, shuttingDown
				}
				if r.Ready() {
					return true, ""
				}
				return false, "source or sink not connected, the stream-sea websocket down, or the Kafka consumer group not joined (see the logs, seabridge_pipeline_up, seabridge_streamsea_ws_connected and seabridge_kafka_group_join_errors_total)"
			}})
		}
		opts := observe.ServerOptions{
			Listen: cfg.HTTP.Listen, Gatherer: reg, Pprof: cfg.HTTP.Pprof,
			Checks: func() []observe.ReadinessCheck { return checks },
			Routes: a.pipelineRoutes(),
		}
		if a.http, err = observe.NewServer(opts, logger); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Run runs the pipelines, the lag collectors and the HTTP server until ctx is done (a soft
// stop) or one part stops by itself (a fatal pipeline error, a failed HTTP server), which
// soft-stops the rest. The stop runs in this order, so that the final counters can be
// scraped: /readyz answers 503 ("shutting down") at once; every pipeline drains within its
// shutdown budget and closes, then logs one summary line (and a second line when it gave up
// on messages); then the lag collectors stop; the HTTP server stops last. Run returns the
// errors of every part, joined in config order (pipelines, lag collectors, HTTP server), or
// nil when everything stopped cleanly. It may be called once.
func (a *App) Run(ctx context.Context) error {
	start := time.Now()
	pipeCtx, stopPipelines := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPipelines()
	lagCtx, stopLag := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLag()
	httpCtx, stopHTTP := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHTTP()

	pipeErrs := make([]error, len(a.pipelines))
	lagErrs := make([]error, len(a.lag))
	var httpErr error
	pipeDone := make(chan string, len(a.pipelines))
	lagDone := make(chan struct{}, len(a.lag))
	for i, p := range a.pipelines {
		go func() {
			pipeErrs[i] = a.runPipeline(pipeCtx, p)
			pipeDone <- p.name
		}()
	}
	for i, l := range a.lag {
		go func() {
			lagErrs[i] = l.Run(lagCtx)
			lagDone <- struct{}{}
		}()
	}
	httpDone := make(chan struct{})
	go func() {
		defer close(httpDone)
		if a.http != nil {
			httpErr = a.http.Run(httpCtx)
		}
	}()
	a.log.Info("bridge running", "version", a.version, "pipelines", len(a.pipelines))

	pipes, lags := len(a.pipelines), len(a.lag)
	select {
	case <-ctx.Done():
		a.log.Info("shutting down: stopping intake, flushing what was received, committing offsets")
	case name := <-pipeDone:
		pipes--
		a.log.Warn("shutting down: pipeline "+name+" stopped", "pipeline", name)
	case <-lagDone:
		lags--
		a.log.Warn("shutting down: the consumer-group lag collector stopped")
	case <-a.httpStopped(httpDone):
		a.log.Warn("shutting down: the HTTP server stopped")
	}
	a.stopping.Store(true)
	stopPipelines()
	for ; pipes > 0; pipes-- {
		<-pipeDone
	}
	stopLag()
	for ; lags > 0; lags-- {
		<-lagDone
	}
	stopHTTP()
	<-httpDone

	err := errors.Join(errors.Join(pipeErrs...), errors.Join(lagErrs...), httpErr)
	if err != nil {
		a.log.Error("bridge stopped", "after", time.Since(start).Round(time.Millisecond), "error", err)
	} else {
		a.log.Info("bridge stopped", "after", time.Since(start).Round(time.Millisecond))
	}
	return err
}

// httpStopped is a channel closed when the HTTP server stopped by itself, or nil (never
// ready) when there is no HTTP server.
func (a *App) httpStopped(done chan struct{}) chan struct{} {
	if a.http == nil {
		return nil
	}
	return done
}

// runPipeline runs one pipeline and logs how it ended: one summary line with its counters,
// and, when it gave up on messages, a line saying how many and what becomes of them.
func (a *App) runPipeline(ctx context.Context, p *builtPipeline) error {
	err := p.runner.Run(ctx)
	s := p.runner.Stats()
	attrs := []any{"pipeline", p.name, "in", s.In, "out", s.Out, "filtered", s.Filtered,
		"dead_lettered", s.DeadLettered, "dropped", s.Dropped, "nacked", s.Nacked, "undelivered", s.Undelivered}
	if err != nil {
		a.log.Error("pipeline stopped", append(attrs, "error", err)...)
	} else {
		a.log.Info("pipeline stopped", attrs...)
	}
	if s.Nacked+s.Undelivered == 0 {
		return err
	}
	if p.redelivery != "" && s.Undelivered == 0 {
		a.log.Warn("pipeline gave up on messages; "+p.redelivery, "pipeline", p.name, "nacked", s.Nacked)
	} else {
		a.log.Error("pipeline lost messages: read and never written, the source does not redeliver",
			"pipeline", p.name, "lost", s.Nacked+s.Undelivered, "nacked", s.Nacked, "undelivered", s.Undelivered)
	}
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

package bridge

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seabridge/seabridge/internal/config"
	"github.com/seabridge/seabridge/internal/observe"
	"github.com/seabridge/seabridge/internal/pipeline"
)

// unit is one pipeline of the App as it runs: its runner, its consumer-group lag collector
// and its own metric registry. A unit runs once; a reload that changes the pipeline replaces
// the unit with a new one.
type unit struct {
	name string
	spec unitSpec
	bp   *builtPipeline
	reg  *prometheus.Registry
	// failedGauge is seabridge_pipeline_failed of this pipeline.
	failedGauge prometheus.Gauge

	cancel     context.CancelFunc // stops the runner (a soft stop: it drains)
	stopLag    context.CancelFunc
	runnerDone chan struct{} // closed when the runner returned
	lagDone    chan struct{} // closed when the lag collector returned
	err        error         // the runner's and the lag collector's errors; set before runnerDone and lagDone close
	lagErr     error

	// retired is set when a reload stops the unit: its end is the reload's business.
	retired atomic.Bool
	// failed is set when the runner stopped by itself on an error.
	failed atomic.Bool
}

func newUnit(bp *builtPipeline, spec unitSpec, reg *prometheus.Registry) *unit {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "seabridge", Subsystem: "pipeline", Name: "failed",
		Help: "1 when the pipeline stopped on an error of its own (a fatal error, a poison message with policy stop) and stays stopped: bridge.on_pipeline_failure = \"isolate\".",
	}, []string{"pipeline"})
	reg.MustRegister(g)
	return &unit{name: bp.name, spec: spec, bp: bp, reg: reg, failedGauge: g.WithLabelValues(bp.name),
		runnerDone: make(chan struct{}), lagDone: make(chan struct{})}
}

// start runs the runner with ctx, reporting its end on exited unless gone is closed, and the
// lag collector until stop. It is called once.
func (u *unit) start(ctx context.Context, log *slog.Logger, exited chan<- *unit, gone <-chan struct{}) {
	runCtx, cancel := context.WithCancel(ctx)
	lagCtx, stopLag := context.WithCancel(context.WithoutCancel(ctx))
	u.cancel, u.stopLag = cancel, stopLag
	go func() {
		u.err = runPipeline(runCtx, log, u.bp)
		if u.err != nil && runCtx.Err() == nil {
			u.failed.Store(true)
			u.failedGauge.Set(1)
		}
		close(u.runnerDone)
		select {
		case exited <- u:
		case <-gone:
		}
	}()
	go func() {
		defer close(u.lagDone)
		if u.bp.lag != nil {
			u.lagErr = u.bp.lag.Run(lagCtx)
		}
	}()
}

// stop soft-stops the runner and waits for it to drain, then stops the lag collector (which
// runs on while a failed pipeline stays failed, so that its lag shows). It returns the
// runner's and the lag collector's errors. A unit never started has nothing to stop.
func (u *unit) stop() error {
	if u.cancel == nil {
		return nil
	}
	u.cancel()
	<-u.runnerDone
	u.stopLag()
	<-u.lagDone
	return errors.Join(u.err, u.lagErr)
}

// unitSpec is everything a pipeline's running depends on: its config, the connections it
// uses and the process settings its components take. A reload restarts a pipeline whose spec
// changed, and only those.
type unitSpec struct {
	Pipeline        config.Pipeline
	Connections     []any // the source's, the sink's and the dead-letter topic's connection
	ShutdownTimeout time.Duration
	InstanceID      string
}

func specOf(cfg *config.Config, p config.Pipeline) unitSpec {
	conn := func(t config.Endpoint, name string) any {
		if t == config.EndpointKafka {
			return cfg.Kafka[name]
		}
		return cfg.Streamsea[name]
	}
	s := unitSpec{Pipeline: p, ShutdownTimeout: cfg.Bridge.ShutdownTimeout, InstanceID: cfg.Bridge.InstanceID,
		Connections: []any{conn(p.Source.Type, p.Source.Connection), conn(p.Sink.Type, p.Sink.Connection)}}
	if p.DeadLetter.Policy == config.PolicyDLQ {
		s.Connections = append(s.Connections, cfg.Kafka[p.DeadLetter.Connection])
	}
	return s
}

func (s unitSpec) equal(o unitSpec) bool { return reflect.DeepEqual(s, o) }

// spooledSource is a source with a spool: Left is what stayed in it when it closed.
type spooledSource interface {
	Left() uint64
}

// runPipeline runs one pipeline and logs how it ended: one summary line with its counters
// (for a spooled source, what it left in the spool too), and a line for what it gave up on:
// lost, read again from Kafka, or left in the spool, which writes it after the next start.
func runPipeline(ctx context.Context, log *slog.Logger, p *builtPipeline) error {
	err := p.runner.Run(ctx)
	s := p.runner.Stats()
	attrs := []any{"pipeline", p.name, "in", s.In, "out", s.Out, "filtered", s.Filtered,
		"dead_lettered", s.DeadLettered, "dropped", s.Dropped, "nacked", s.Nacked, "undelivered", s.Undelivered}
	spooled, isSpooled := p.source.(spooledSource)
	var left uint64
	if isSpooled {
		left = spooled.Left()
		attrs = append(attrs, "left_in_spool", left)
	}
	if err != nil {
		log.Error("pipeline stopped", append(attrs, "error", err)...)
	} else {
		log.Info("pipeline stopped", attrs...)
	}
	switch {
	case isSpooled:
		logSpooled(log, p.name, s, left)
	case s.Nacked+s.Undelivered == 0:
	case p.redelivery != "" && s.Undelivered == 0:
		log.Warn("pipeline gave up on messages; "+p.redelivery, "pipeline", p.name, "nacked", s.Nacked)
	default:
		log.Error("pipeline lost messages: read and never written, the source does not redeliver",
			"pipeline", p.name, "lost", s.Nacked+s.Undelivered, "nacked", s.Nacked, "undelivered", s.Undelivered)
	}
	return err
}

// logSpooled logs what a pipeline with a spool left in it and what it lost: what it nacked
// stays in the spool (no loss); what it received and never spooled, or the spool dropped, is
// lost (undelivered).
func logSpooled(log *slog.Logger, name string, s pipeline.Stats, left uint64) {
	if left > 0 {
		level := slog.LevelInfo
		if s.Nacked > 0 {
			level = slog.LevelWarn // the shutdown budget ran out
		}
		log.Log(context.Background(), level, "pipeline left messages in the spool; they are written to Kafka after the next start",
			"pipeline", name, "left_in_spool", left, "nacked", s.Nacked)
	}
	if s.Undelivered > 0 {
		log.Error("pipeline lost messages: received and never spooled, or dropped or damaged in the spool",
			"pipeline", name, "lost", s.Undelivered, "undelivered", s.Undelivered)
	}
}

// liveSet is the set of collectors present, in the order they were added; safe for
// concurrent use.
type liveSet[T comparable] struct {
	mu    sync.Mutex
	items []T
}

func (s *liveSet[T]) add(x T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.items, x) {
		s.items = append(s.items, x)
	}
}

func (s *liveSet[T]) remove(x T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = slices.DeleteFunc(s.items, func(y T) bool { return y == x })
}

func (s *liveSet[T]) snapshot() []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.items)
}

// unitMetrics exports the metrics of the units present, each from its own registry, as one
// collector of the App's registry: a unit removed takes its series with it.
type unitMetrics struct {
	liveSet[*prometheus.Registry]
	descs []*prometheus.Desc // of every unit registry: they all hold the same families
}

func newUnitMetrics() *unitMetrics {
	tmpl := prometheus.NewRegistry()
	newMetricSets(tmpl)
	newUnit(&builtPipeline{}, unitSpec{}, tmpl)
	m := &unitMetrics{}
	ch := make(chan *prometheus.Desc)
	go func() {
		tmpl.Describe(ch)
		close(ch)
	}()
	for d := range ch {
		m.descs = append(m.descs, d)
	}
	return m
}

// Describe implements prometheus.Collector.
func (m *unitMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range m.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *unitMetrics) Collect(ch chan<- prometheus.Metric) {
	for _, r := range m.snapshot() {
		r.Collect(ch)
	}
}

// lagMetrics exports the lag collectors of the units present as one collector: their
// consumergroup series are merged (observe.LagCollectors). Units without one add nil, which
// is left out.
type lagMetrics struct {
	liveSet[*observe.LagCollector]
	tmpl *observe.LagCollector // describes the families
}

// Describe implements prometheus.Collector.
func (m *lagMetrics) Describe(ch chan<- *prometheus.Desc) { observe.LagCollectors{m.tmpl}.Describe(ch) }

// Collect implements prometheus.Collector.
func (m *lagMetrics) Collect(ch chan<- prometheus.Metric) {
	list := slices.DeleteFunc(m.snapshot(), func(c *observe.LagCollector) bool { return c == nil })
	observe.LagCollectors(list).Collect(ch)
}

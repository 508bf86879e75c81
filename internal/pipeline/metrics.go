package pipeline

import "github.com/prometheus/client_golang/prometheus"

// Metrics holds the pipeline metric families. Create it once per process with NewMetrics and
// share it between all runners; each runner adds its own pipeline and direction label values.
type Metrics struct {
	in, out, filtered, deadLettered, dropped, nacked *prometheus.CounterVec
	errors, retries, reconnects                      *prometheus.CounterVec
	batchSize, writeDuration, latency                *prometheus.HistogramVec
	inFlight, up, running                            *prometheus.GaugeVec
}

// durationBuckets spans sub-millisecond to 10 s.
var durationBuckets = []float64{
	.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10,
}

var batchSizeBuckets = []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}

// NewMetrics creates the pipeline metric families and registers them with reg (nil: not
// registered). It panics if they are already registered with reg: call it once per process.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	labels := []string{"pipeline", "direction"}
	counter := func(name, help string, extra ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "seabridge", Subsystem: "pipeline", Name: name, Help: help,
		}, append(labels[:2:2], extra...))
	}
	histogram := func(name, help string, buckets []float64) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "seabridge", Subsystem: "pipeline", Name: name, Help: help, Buckets: buckets,
		}, labels)
	}
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "seabridge", Subsystem: "pipeline", Name: name, Help: help,
		}, labels)
	}
	m := &Metrics{
		in:           counter("messages_in_total", "Messages read from the source."),
		out:          counter("messages_out_total", "Messages written durably to the sink."),
		filtered:     counter("messages_filtered_total", "Source messages the mapper filtered out (acked)."),
		deadLettered: counter("messages_dead_lettered_total", "Messages written to the dead-letter destination."),
		dropped:      counter("messages_dropped_total", "Poison messages dropped (on_poison = drop)."),
		nacked:       counter("messages_nacked_total", "Source messages given up on (nacked), e.g. at the end of the shutdown budget."),
		errors:       counter("errors_total", "Errors by stage (source, map, sink, dead_letter).", "stage"),
		retries:      counter("retries_total", "Retries of sink writes, dead-lettering and connects."),
		reconnects:   counter("reconnects_total", "Reconnects after a lost connection, by side.", "side"),
		batchSize:    histogram("batch_size", "Messages per sink write.", batchSizeBuckets),
		writeDuration: histogram("write_duration_seconds", "Duration of one sink write attempt.",
			durationBuckets),
		latency: histogram("end_to_end_latency_seconds", "From reading a message to its being durable at the sink.",
			durationBuckets),
		inFlight: gauge("in_flight_messages", "Source messages read and not yet acked or nacked."),
		up:       gauge("up", "1 when both the source and the sink are connected."),
		running:  gauge("running", "1 while the runner runs."),
	}
	if reg != nil {
		for _, c := range m.collectors() {
			reg.MustRegister(c)
		}
	}
	return m
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		m.in, m.out, m.filtered, m.deadLettered, m.dropped, m.nacked, m.errors, m.retries,
		m.reconnects, m.batchSize, m.writeDuration, m.latency, m.inFlight, m.up, m.running,
	}
}

// Error stages and reconnect sides, metric label values.
const (
	stageSource     = "source"
	stageMap        = "map"
	stageSink       = "sink"
	stageDeadLetter = "dead_letter"
	sideSource      = "source"
	sideSink        = "sink"
)

// runnerMetrics are one runner's children of the Metrics families, resolved once.
type runnerMetrics struct {
	in, out, filtered, deadLettered, dropped, nacked prometheus.Counter
	errSource, errMap, errSink, errDeadLetter        prometheus.Counter
	retries, reconnectSource, reconnectSink          prometheus.Counter
	batchSize, writeDuration, latency                prometheus.Observer
	inFlight, up, running                            prometheus.Gauge
}

func (m *Metrics) forRunner(name, direction string) runnerMetrics {
	l := prometheus.Labels{"pipeline": name, "direction": direction}
	with := func(extra, value string) prometheus.Labels {
		return prometheus.Labels{"pipeline": name, "direction": direction, extra: value}
	}
	return runnerMetrics{
		in:              m.in.With(l),
		out:             m.out.With(l),
		filtered:        m.filtered.With(l),
		deadLettered:    m.deadLettered.With(l),
		dropped:         m.dropped.With(l),
		nacked:          m.nacked.With(l),
		errSource:       m.errors.With(with("stage", stageSource)),
		errMap:          m.errors.With(with("stage", stageMap)),
		errSink:         m.errors.With(with("stage", stageSink)),
		errDeadLetter:   m.errors.With(with("stage", stageDeadLetter)),
		retries:         m.retries.With(l),
		reconnectSource: m.reconnects.With(with("side", sideSource)),
		reconnectSink:   m.reconnects.With(with("side", sideSink)),
		batchSize:       m.batchSize.With(l),
		writeDuration:   m.writeDuration.With(l),
		latency:         m.latency.With(l),
		inFlight:        m.inFlight.With(l),
		up:              m.up.With(l),
		running:         m.running.With(l),
	}
}

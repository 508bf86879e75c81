package sink

import "github.com/prometheus/client_golang/prometheus"

// Results of one publish request, the "result" label of publish_requests_total.
const (
	publishOK             = "ok"
	publishRejected       = "rejected"
	publishRetriableError = "retriable_error"
	publishFatalError     = "fatal_error"
)

// Results of one schema check at Connect, the "result" label of schema_ensure_total.
const (
	ensureDefined    = "defined"
	ensureUnchanged  = "unchanged"
	ensureConflict   = "conflict"
	ensureUsedServer = "used_server"
)

// StreamSeaMetrics holds the metrics of every stream-sea sink. Create it once and share it by
// all pipelines; each sink records under its own pipeline label.
type StreamSeaMetrics struct {
	requests           *prometheus.CounterVec
	duration           *prometheus.HistogramVec
	published          *prometheus.CounterVec
	validationFailures *prometheus.CounterVec
	schemaEnsure       *prometheus.CounterVec
}

// NewStreamSeaMetrics creates the metrics and registers them with reg (nil: not registered).
// It panics if they are already registered with reg.
func NewStreamSeaMetrics(reg prometheus.Registerer) *StreamSeaMetrics {
	const ns, sub = "seabridge", "streamsea"
	m := &StreamSeaMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "publish_requests_total",
			Help: "Publish requests sent to stream-sea, by result (ok, rejected, retriable_error, fatal_error).",
		}, []string{"pipeline", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "publish_duration_seconds",
			Help:    "Duration of publish requests to stream-sea, whatever their result.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"pipeline"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "published_messages_total",
			Help: "Messages accepted by stream-sea.",
		}, []string{"pipeline"}),
		validationFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "validation_failures_total",
			Help: "Messages rejected by local validation before publishing (schema mismatch or not a JSON object).",
		}, []string{"pipeline"}),
		schemaEnsure: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "schema_ensure_total",
			Help: "Schema checks at connect, by result (defined, unchanged, conflict, used_server).",
		}, []string{"pipeline", "result"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration, m.published, m.validationFailures, m.schemaEnsure)
	}
	return m
}

// streamSeaPipelineMetrics are the metrics of one pipeline, with its label values bound once so
// that the hot path does no label lookups.
type streamSeaPipelineMetrics struct {
	requests           map[string]prometheus.Counter
	duration           prometheus.Observer
	published          prometheus.Counter
	validationFailures prometheus.Counter
	schemaEnsure       map[string]prometheus.Counter
}

func (m *StreamSeaMetrics) forPipeline(pipeline string) *streamSeaPipelineMetrics {
	p := &streamSeaPipelineMetrics{
		requests:           map[string]prometheus.Counter{},
		duration:           m.duration.WithLabelValues(pipeline),
		published:          m.published.WithLabelValues(pipeline),
		validationFailures: m.validationFailures.WithLabelValues(pipeline),
		schemaEnsure:       map[string]prometheus.Counter{},
	}
	for _, r := range []string{publishOK, publishRejected, publishRetriableError, publishFatalError} {
		p.requests[r] = m.requests.WithLabelValues(pipeline, r)
	}
	for _, r := range []string{ensureDefined, ensureUnchanged, ensureConflict, ensureUsedServer} {
		p.schemaEnsure[r] = m.schemaEnsure.WithLabelValues(pipeline, r)
	}
	return p
}

package source

import "github.com/prometheus/client_golang/prometheus"

// Commit results, the values of the result label of seabridge_kafka_commits_total.
const (
	commitResultOK        = "ok"
	commitResultRebalance = "rebalance"
	commitResultError     = "error"
)

// KafkaMetrics holds the Kafka source metrics, shared by every Kafka source pipeline (labelled by
// pipeline). Consumer-group lag and committed offsets are exported by the lag collector.
type KafkaMetrics struct {
	fetched      *prometheus.CounterVec
	commits      *prometheus.CounterVec
	commitErrors *prometheus.CounterVec
	pending      *prometheus.GaugeVec
}

// NewKafkaMetrics creates the metrics and registers them with reg (not registered when reg is
// nil). It panics if they are already registered: call it once per registry.
func NewKafkaMetrics(reg prometheus.Registerer) *KafkaMetrics {
	const ns, sub = "seabridge", "kafka"
	m := &KafkaMetrics{
		fetched: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "fetched_messages_total", Help: "Messages fetched from Kafka by the consumer-group source."},
			[]string{"pipeline"}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "commits_total", Help: "Offset commit attempts by result (ok, rebalance, error)."},
			[]string{"pipeline", "result"}),
		commitErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "commit_errors_total", Help: "Offset commits that failed (their offsets stay pending)."},
			[]string{"pipeline"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "pending_messages", Help: "Messages fetched and not yet acked or nacked."},
			[]string{"pipeline"}),
	}
	if reg != nil {
		reg.MustRegister(m.fetched, m.commits, m.commitErrors, m.pending)
	}
	return m
}

// kafkaPipelineMetrics are the metrics of one pipeline, with the pipeline label bound.
type kafkaPipelineMetrics struct {
	fetched         prometheus.Counter
	commitOK        prometheus.Counter
	commitRebalance prometheus.Counter
	commitError     prometheus.Counter
	commitErrors    prometheus.Counter
	pending         prometheus.Gauge
}

func (m *KafkaMetrics) forPipeline(pipeline string) kafkaPipelineMetrics {
	return kafkaPipelineMetrics{
		fetched:         m.fetched.WithLabelValues(pipeline),
		commitOK:        m.commits.WithLabelValues(pipeline, commitResultOK),
		commitRebalance: m.commits.WithLabelValues(pipeline, commitResultRebalance),
		commitError:     m.commits.WithLabelValues(pipeline, commitResultError),
		commitErrors:    m.commitErrors.WithLabelValues(pipeline),
		pending:         m.pending.WithLabelValues(pipeline),
	}
}

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
	fetched         *prometheus.CounterVec
	commits         *prometheus.CounterVec
	commitErrors    *prometheus.CounterVec
	pending         *prometheus.GaugeVec
	pendingBytes    *prometheus.GaugeVec
	rebalances      *prometheus.CounterVec
	joinErrors      *prometheus.CounterVec
	assigned        *prometheus.GaugeVec
	revokeUnsettled *prometheus.CounterVec
}

// NewKafkaMetrics creates the metrics and registers them with reg (not registered when reg is
// nil). It panics if they are already registered: call it once per registry.
func NewKafkaMetrics(reg prometheus.Registerer) *KafkaMetrics {
	const ns, sub = "seabridge", "kafka"
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help},
			append([]string{"pipeline"}, labels...))
	}
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help},
			[]string{"pipeline"})
	}
	m := &KafkaMetrics{
		fetched:      counter("fetched_messages_total", "Messages fetched from Kafka by the consumer-group source."),
		commits:      counter("commits_total", "Offset commit attempts by result (ok, rebalance, error).", "result"),
		commitErrors: counter("commit_errors_total", "Offset commits that failed (their offsets stay pending)."),
		pending:      gauge("pending_messages", "Messages fetched and not yet acked or nacked."),
		pendingBytes: gauge("pending_bytes", "Bytes (key, value and headers) of the pending messages."),
		rebalances: counter("rebalances_total",
			"Consumer-group generations this member joined (the first join included); each later one follows a rebalance."),
		joinErrors: counter("group_join_errors_total",
			"Failed attempts to join the consumer group (retried after source.join_group_backoff)."),
		assigned: gauge("assigned_partitions",
			"Partitions assigned to this member in the current generation; 0 between generations."),
		revokeUnsettled: counter("revoked_unsettled_messages_total",
			"Messages still neither acked nor nacked when their partition's generation ended and the wait for them ran out: not committed, so the partition's next owner reads them again."),
	}
	if reg != nil {
		reg.MustRegister(m.fetched, m.commits, m.commitErrors, m.pending, m.pendingBytes, m.rebalances, m.joinErrors, m.assigned, m.revokeUnsettled)
	}
	return m
}

// kafkaPipelineMetrics are the metrics of one pipeline, with the pipeline label bound. Binding
// creates every series, at 0.
type kafkaPipelineMetrics struct {
	fetched         prometheus.Counter
	commitOK        prometheus.Counter
	commitRebalance prometheus.Counter
	commitError     prometheus.Counter
	commitErrors    prometheus.Counter
	pending         prometheus.Gauge
	pendingBytes    prometheus.Gauge
	rebalances      prometheus.Counter
	joinErrors      prometheus.Counter
	assigned        prometheus.Gauge
	revokeUnsettled prometheus.Counter
}

func (m *KafkaMetrics) forPipeline(pipeline string) kafkaPipelineMetrics {
	return kafkaPipelineMetrics{
		fetched:         m.fetched.WithLabelValues(pipeline),
		commitOK:        m.commits.WithLabelValues(pipeline, commitResultOK),
		commitRebalance: m.commits.WithLabelValues(pipeline, commitResultRebalance),
		commitError:     m.commits.WithLabelValues(pipeline, commitResultError),
		commitErrors:    m.commitErrors.WithLabelValues(pipeline),
		pending:         m.pending.WithLabelValues(pipeline),
		pendingBytes:    m.pendingBytes.WithLabelValues(pipeline),
		rebalances:      m.rebalances.WithLabelValues(pipeline),
		joinErrors:      m.joinErrors.WithLabelValues(pipeline),
		assigned:        m.assigned.WithLabelValues(pipeline),
		revokeUnsettled: m.revokeUnsettled.WithLabelValues(pipeline),
	}
}

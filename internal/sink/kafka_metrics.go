package sink

import "github.com/prometheus/client_golang/prometheus"

// KafkaSinkMetrics holds the Kafka sink and dead-letter metrics, shared by every pipeline
// (labelled by pipeline).
type KafkaSinkMetrics struct {
	produced        *prometheus.CounterVec
	produceErrors   *prometheus.CounterVec
	produceDuration *prometheus.HistogramVec
	deadLettered    *prometheus.CounterVec
	// deadLetterOmitted counts dead-letter records written reduced (see DeadLetter).
	deadLetterOmitted *prometheus.CounterVec
}

// NewKafkaSinkMetrics creates the metrics and registers them with reg (not registered when reg
// is nil). It panics if they are already registered: call it once per registry.
func NewKafkaSinkMetrics(reg prometheus.Registerer) *KafkaSinkMetrics {
	const ns, sub = "seabridge", "kafka"
	m := &KafkaSinkMetrics{
		produced: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "produced_messages_total", Help: "Messages written to Kafka and acknowledged."},
			[]string{"pipeline"}),
		produceErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "produce_errors_total", Help: "Messages a write to Kafka failed for (each attempt counts)."},
			[]string{"pipeline"}),
		produceDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "produce_duration_seconds", Help: "Duration of one batch write to Kafka.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)},
			[]string{"pipeline"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "dead_lettered_messages_total", Help: "Messages written to the dead-letter topic."},
			[]string{"pipeline"}),
		deadLetterOmitted: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "dead_letter_values_omitted_total",
			Help: "Dead-letter records written without the message's value (and, if still too large, its key and headers): the whole record was too large for the dead-letter topic."},
			[]string{"pipeline"}),
	}
	if reg != nil {
		reg.MustRegister(m.produced, m.produceErrors, m.produceDuration, m.deadLettered, m.deadLetterOmitted)
	}
	return m
}

// kafkaWriteMetrics are the metrics of one writer, with the pipeline label bound.
type kafkaWriteMetrics struct {
	written  prometheus.Counter
	errors   prometheus.Counter
	duration prometheus.Observer
}

func (m *KafkaSinkMetrics) forSink(pipeline string) kafkaWriteMetrics {
	return kafkaWriteMetrics{
		written:  m.produced.WithLabelValues(pipeline),
		errors:   m.produceErrors.WithLabelValues(pipeline),
		duration: m.produceDuration.WithLabelValues(pipeline),
	}
}

func (m *KafkaSinkMetrics) forDeadLetter(pipeline string) kafkaWriteMetrics {
	w := m.forSink(pipeline)
	w.written = m.deadLettered.WithLabelValues(pipeline)
	return w
}

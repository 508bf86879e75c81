package source

import (
	"github.com/prometheus/client_golang/prometheus"
)

// StreamSeaMetrics holds the stream-sea source metrics, shared by every stream-sea source
// pipeline (labelled by pipeline).
type StreamSeaMetrics struct {
	connects       *prometheus.CounterVec
	disconnects    *prometheus.CounterVec
	protocolErrors *prometheus.CounterVec
	received       *prometheus.CounterVec
	undelivered    *prometheus.CounterVec
	gauges         *streamSeaGauges
}

// NewStreamSeaMetrics creates the metrics and registers them with reg (not registered when reg
// is nil). It panics if they are already registered: call it once per registry.
func NewStreamSeaMetrics(reg prometheus.Registerer) *StreamSeaMetrics {
	const ns, sub = "seabridge", "streamsea"
	pipeline := []string{"pipeline"}
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, pipeline)
	}
	m := &StreamSeaMetrics{
		connects:       counter("ws_connects_total", "Websocket connections authenticated and subscribed."),
		disconnects:    counter("ws_disconnects_total", "Websocket connections lost or closed after connecting."),
		protocolErrors: counter("ws_protocol_errors_total", "Malformed or unexpected frames skipped."),
		received:       counter("received_messages_total", "Messages received from stream-sea and handed to the pipeline (with a spool: appended to it)."),
		undelivered: counter("undelivered_messages_total",
			"Messages received from stream-sea and never acked when the source closed."),
		gauges: newStreamSeaGauges(),
	}
	if reg != nil {
		reg.MustRegister(m.connects, m.disconnects, m.protocolErrors, m.received, m.undelivered, m.gauges)
	}
	return m
}

// streamSeaPipelineMetrics are the metrics of one pipeline, with the pipeline label bound.
type streamSeaPipelineMetrics struct {
	connects       prometheus.Counter
	disconnects    prometheus.Counter
	protocolErrors prometheus.Counter
	received       prometheus.Counter
	undelivered    prometheus.Counter
}

func (m *StreamSeaMetrics) forPipeline(pipeline string) streamSeaPipelineMetrics {
	return streamSeaPipelineMetrics{
		connects:       m.connects.WithLabelValues(pipeline),
		disconnects:    m.disconnects.WithLabelValues(pipeline),
		protocolErrors: m.protocolErrors.WithLabelValues(pipeline),
		received:       m.received.WithLabelValues(pipeline),
		undelivered:    m.undelivered.WithLabelValues(pipeline),
	}
}

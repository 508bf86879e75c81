package source

import "github.com/prometheus/client_golang/prometheus"

// StreamSeaMetrics holds the stream-sea source metrics, shared by every stream-sea source
// pipeline (labelled by pipeline).
type StreamSeaMetrics struct {
	connected      *prometheus.GaugeVec
	connects       *prometheus.CounterVec
	disconnects    *prometheus.CounterVec
	protocolErrors *prometheus.CounterVec
	received       *prometheus.CounterVec
	inFlight       *prometheus.GaugeVec
	undelivered    *prometheus.CounterVec
}

// NewStreamSeaMetrics creates the metrics and registers them with reg (not registered when reg
// is nil). It panics if they are already registered: call it once per registry.
func NewStreamSeaMetrics(reg prometheus.Registerer) *StreamSeaMetrics {
	const ns, sub = "seabridge", "streamsea"
	pipeline := []string{"pipeline"}
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, pipeline)
	}
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, pipeline)
	}
	m := &StreamSeaMetrics{
		connected:      gauge("ws_connected", "1 while the websocket is authenticated and subscribed, else 0."),
		connects:       counter("ws_connects_total", "Websocket connections authenticated and subscribed."),
		disconnects:    counter("ws_disconnects_total", "Websocket connections lost or closed after connecting."),
		protocolErrors: counter("ws_protocol_errors_total", "Malformed or unexpected frames skipped."),
		received:       counter("received_messages_total", "Messages received from stream-sea and handed to the pipeline."),
		inFlight:       gauge("in_flight_messages", "Messages handed to the pipeline and not yet acked."),
		undelivered: counter("undelivered_messages_total",
			"Messages received from stream-sea and never acked when the source closed."),
	}
	if reg != nil {
		reg.MustRegister(m.connected, m.connects, m.disconnects, m.protocolErrors, m.received, m.inFlight,
			m.undelivered)
	}
	return m
}

// streamSeaPipelineMetrics are the metrics of one pipeline, with the pipeline label bound.
type streamSeaPipelineMetrics struct {
	connected      prometheus.Gauge
	connects       prometheus.Counter
	disconnects    prometheus.Counter
	protocolErrors prometheus.Counter
	received       prometheus.Counter
	inFlight       prometheus.Gauge
	undelivered    prometheus.Counter
}

func (m *StreamSeaMetrics) forPipeline(pipeline string) streamSeaPipelineMetrics {
	return streamSeaPipelineMetrics{
		connected:      m.connected.WithLabelValues(pipeline),
		connects:       m.connects.WithLabelValues(pipeline),
		disconnects:    m.disconnects.WithLabelValues(pipeline),
		protocolErrors: m.protocolErrors.WithLabelValues(pipeline),
		received:       m.received.WithLabelValues(pipeline),
		inFlight:       m.inFlight.WithLabelValues(pipeline),
		undelivered:    m.undelivered.WithLabelValues(pipeline),
	}
}

package spool

import "github.com/prometheus/client_golang/prometheus"

// Reasons a record is dropped, the values of the reason label.
const (
	ReasonDropOldest = "drop_oldest" // its segment was deleted by when_full = "drop_oldest"
	ReasonDropNewest = "drop_newest" // refused by when_full = "drop_newest"
	ReasonMaxAge     = "max_age"     // older than max_age before it was read
	ReasonTooLarge   = "too_large"   // larger than the spool could ever hold
)

// Metrics holds the spool metrics of every spool in a process, labelled by pipeline.
type Metrics struct {
	bytes, maxBytes, records, oldestAge *prometheus.GaugeVec
	appended, corrupt, corruptBytes     *prometheus.CounterVec
	dropped                             *prometheus.CounterVec
	appendSeconds, fsyncSeconds         *prometheus.HistogramVec
}

// NewMetrics creates the metrics and registers them with reg (kept unregistered when reg is
// nil). It panics when they are already registered: call it once per registry.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	const ns, sub = "seabridge", "spool"
	labels := []string{"pipeline"}
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, labels)
	}
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, labels)
	}
	histogram := func(name, help string, buckets []float64) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: name, Help: help, Buckets: buckets,
		}, labels)
	}
	m := &Metrics{
		bytes:     gauge("bytes", "Size of the spool's segment files on disk, acknowledged records not yet deleted included."),
		maxBytes:  gauge("max_bytes", "The spool's max_bytes: spool_bytes / spool_max_bytes is how full it is."),
		records:   gauge("records", "Records in the spool not yet acknowledged by the sink (nor dropped)."),
		oldestAge: gauge("oldest_record_age_seconds", "Age of the oldest record not yet acknowledged; 0 when there is none."),
		appended:  counter("appended_records_total", "Records appended to the spool."),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "dropped_records_total",
			Help: "Records dropped unread: by when_full (drop_oldest, drop_newest), by max_age, or too large to spool.",
		}, []string{"pipeline", "reason"}),
		corrupt: counter("corrupt_records_total",
			"Records lost to corruption found in the spool's files (a torn or damaged tail counts as at least one)."),
		corruptBytes: counter("corrupt_bytes_total", "Bytes of the spool's files cut out or truncated as corrupt."),
		appendSeconds: histogram("append_duration_seconds", "Time to append one batch of records, waiting for room and fsync = \"always\" included.",
			[]float64{5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 5e-3, 0.025, 0.1, 0.5, 2.5}),
		fsyncSeconds: histogram("fsync_duration_seconds", "Time of one fsync of a segment file.",
			[]float64{1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1, 5}),
	}
	if reg != nil {
		reg.MustRegister(m.bytes, m.maxBytes, m.records, m.oldestAge, m.appended, m.dropped,
			m.corrupt, m.corruptBytes, m.appendSeconds, m.fsyncSeconds)
	}
	return m
}

// spoolMetrics are one spool's metrics, with the pipeline label bound.
type spoolMetrics struct {
	bytes, maxBytes, records, oldestAge prometheus.Gauge
	appended, corrupt, corruptBytes     prometheus.Counter
	dropped                             map[string]prometheus.Counter
	appendSeconds, fsyncSeconds         prometheus.Observer
}

func (m *Metrics) forSpool(name string) spoolMetrics {
	dropped := map[string]prometheus.Counter{}
	for _, r := range []string{ReasonDropOldest, ReasonDropNewest, ReasonMaxAge, ReasonTooLarge} {
		dropped[r] = m.dropped.WithLabelValues(name, r)
	}
	return spoolMetrics{
		bytes: m.bytes.WithLabelValues(name), maxBytes: m.maxBytes.WithLabelValues(name),
		records: m.records.WithLabelValues(name), oldestAge: m.oldestAge.WithLabelValues(name),
		appended: m.appended.WithLabelValues(name), corrupt: m.corrupt.WithLabelValues(name),
		corruptBytes: m.corruptBytes.WithLabelValues(name), dropped: dropped,
		appendSeconds: m.appendSeconds.WithLabelValues(name), fsyncSeconds: m.fsyncSeconds.WithLabelValues(name),
	}
}

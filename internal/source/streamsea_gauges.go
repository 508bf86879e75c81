package source

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// streamSeaGauges reads the state of every stream-sea source at scrape time: whether its
// websocket counts as connected (which depends on time while reading is paused), and what it
// holds in flight.
type streamSeaGauges struct {
	connected, paused, inFlight, inFlightBytes, oldestAge *prometheus.Desc

	mu      sync.Mutex
	sources map[string]*StreamSea // by pipeline; a later source of a pipeline replaces the earlier
}

func newStreamSeaGauges() *streamSeaGauges {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("seabridge_streamsea_"+name, help, []string{"pipeline"}, nil)
	}
	return &streamSeaGauges{
		connected: desc("ws_connected", "1 while the websocket is authenticated and subscribed and not known "+
			"to be lost, else 0."),
		paused: desc("ws_reading_paused", "1 while the websocket is not read because max_in_flight "+
			"messages or max_in_flight_bytes are in flight, else 0."),
		inFlight: desc("in_flight_messages", "Messages received on the websocket and not yet acked "+
			"(queued in the source, or in the pipeline)."),
		inFlightBytes: desc("in_flight_bytes", "Payload bytes of the messages in flight."),
		oldestAge: desc("oldest_in_flight_age_seconds", "Age of the oldest message in flight "+
			"(since it was received), 0 when none is."),
		sources: map[string]*StreamSea{},
	}
}

func (g *streamSeaGauges) track(pipeline string, s *StreamSea) {
	g.mu.Lock()
	g.sources[pipeline] = s
	g.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (g *streamSeaGauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{g.connected, g.paused, g.inFlight, g.inFlightBytes, g.oldestAge} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (g *streamSeaGauges) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	sources := make(map[string]*StreamSea, len(g.sources))
	for p, s := range g.sources {
		sources[p] = s
	}
	g.mu.Unlock()
	now := time.Now()
	for pipeline, s := range sources {
		st := s.gaugeState(now)
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, pipeline)
		}
		gauge(g.connected, boolValue(st.connected))
		gauge(g.paused, boolValue(st.paused))
		gauge(g.inFlight, float64(st.inFlight))
		gauge(g.inFlightBytes, float64(st.inFlightBytes))
		gauge(g.oldestAge, st.oldestAge.Seconds())
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// streamSeaGaugeState is one source's gauges at one instant.
type streamSeaGaugeState struct {
	connected, paused       bool
	inFlight, inFlightBytes int64
	oldestAge               time.Duration
}

// gaugeState reads the source's state; zero before Connect and after Close (what is still
// held then was counted as undelivered).
func (s *StreamSea) gaugeState(now time.Time) streamSeaGaugeState {
	s.mu.Lock()
	r, closed := s.run, s.closed
	s.mu.Unlock()
	if r == nil || closed {
		return streamSeaGaugeState{}
	}
	w := r.sub.Window()
	st := streamSeaGaugeState{
		connected: r.sub.Connected(), paused: w.Paused,
		inFlight: int64(w.Held), inFlightBytes: w.HeldBytes,
	}
	if !w.Oldest.IsZero() {
		st.oldestAge = max(now.Sub(w.Oldest), 0)
	}
	return st
}

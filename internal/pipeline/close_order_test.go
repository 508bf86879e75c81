package pipeline_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/pipeline/pipelinetest"
)

// metricsAtClose is a source that records, when the runner closes it, what a /metrics scrape
// would show at that moment.
type metricsAtClose struct {
	*pipelinetest.MemSource
	reg      *prometheus.Registry
	nacked   float64 // seabridge_pipeline_messages_nacked_total
	inFlight float64 // seabridge_pipeline_in_flight_messages
	closed   bool
}

func (s *metricsAtClose) Close(ctx context.Context) error {
	s.closed = true
	s.nacked = gatheredValue(s.reg, "seabridge_pipeline_messages_nacked_total")
	s.inFlight = gatheredValue(s.reg, "seabridge_pipeline_in_flight_messages")
	return s.MemSource.Close(ctx)
}

// gatheredValue is the sum of the counter or gauge series of the family name in reg.
func gatheredValue(reg *prometheus.Registry, name string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return -1
	}
	var v float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			v += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return v
}

// TestShutdownCountsNacksBeforeClosing stops a runner whose sink never answers: when the
// budget expires the metrics already count every nacked message, before the source is closed
// (closing may take as long again), so that a scrape during the close shows the loss.
func TestShutdownCountsNacksBeforeClosing(t *testing.T) {
	const n = 25
	rg := newRig(n)
	src := &metricsAtClose{MemSource: rg.src, reg: rg.reg}
	rg.opts.Source = src
	rg.opts.ShutdownTimeout = 50 * time.Millisecond
	mapper, seen := seenMapper(n)
	rg.opts.Mapper = mapper
	rg.sink.SetBlocked(true)
	run := rg.start(t)
	await(t, seen, "the runner to read every message")
	if err := run.stop(); !errors.Is(err, pipeline.ErrShutdownTimeout) {
		t.Fatalf("Run = %v, want ErrShutdownTimeout", err)
	}
	if !src.closed || src.nacked != n || src.inFlight != 0 {
		t.Errorf("when the source was closed (%v) the metrics showed %v nacked and %v in flight, want %d and 0",
			src.closed, src.nacked, src.inFlight, n)
	}
}

package pipeline_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/pipeline/pipelinetest"
)

// BenchmarkRunner moves b.N 200-byte messages from the in-memory source through the identity
// mapper to a discarding in-memory sink. One op is one message.
func BenchmarkRunner(b *testing.B) {
	value := bytes.Repeat([]byte("x"), 200)
	log := pipelinetest.NewMemLog("bench")
	values := make([][]byte, b.N)
	for i := range values {
		values[i] = value
	}
	log.Append(values...)
	sink := pipelinetest.NewMemSink()
	sink.Discard()
	r, err := pipeline.NewRunner(pipeline.Options{
		Name:      "bench",
		Direction: pipeline.DirectionKafkaToStreamSea,
		Source:    pipelinetest.NewMemSource(log),
		Sink:      sink,
		Metrics:   pipeline.NewMetrics(nil),
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)

	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	go func() { done <- r.Run(ctx) }()
	waitCtx, stopWait := context.WithTimeout(ctx, 5*time.Minute)
	defer stopWait()
	if err := sink.WaitCount(waitCtx, b.N); err != nil {
		b.Fatalf("sink holds %d of %d: %v", sink.Count(), b.N, err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
}

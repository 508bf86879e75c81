package pipelinetest

import (
	"context"
	"testing"

	"github.com/seabridge/seabridge/internal/pipeline"
)

func memSourceHarness() SourceHarness { return memHarness(false) }

// memHarness runs the suite on MemSources, or with batch on MemBatchSources.
func memHarness(batch bool) SourceHarness {
	return SourceHarness{
		Redelivers: true,
		Setup: func(t *testing.T) SourceBackend {
			log := NewMemLog("suite")
			return SourceBackend{
				NewSource: func(*testing.T) pipeline.Source {
					if batch {
						return NewMemBatchSource(log)
					}
					return NewMemSource(log)
				},
				Produce: func(_ context.Context, _ *testing.T, values [][]byte) {
					log.Append(values...)
				},
				Disrupt: func(_ *testing.T, src pipeline.Source) { src.(interface{ Disconnect() }).Disconnect() },
			}
		},
	}
}

func TestMemSourceConformance(t *testing.T) {
	RunSourceSuite(t, memSourceHarness())
}

func TestMemBatchSourceConformance(t *testing.T) {
	RunSourceSuite(t, memHarness(true))
}

func TestMemSinkConformance(t *testing.T) {
	RunSinkSuite(t, SinkHarness{
		Setup: func(t *testing.T) SinkBackend {
			var sinks []*MemSink
			return SinkBackend{
				NewSink: func(*testing.T) pipeline.Sink {
					s := NewMemSink()
					sinks = append(sinks, s)
					return s
				},
				Collect: func(ctx context.Context, t *testing.T, want int) [][]byte {
					if err := sinks[len(sinks)-1].WaitCount(ctx, want); err != nil {
						t.Fatalf("waiting for %d messages: %v", want, err)
					}
					var values [][]byte
					for _, s := range sinks {
						for _, m := range s.Messages() {
							values = append(values, m.Value)
						}
					}
					return values
				},
				SetSlow: func(_ *testing.T, slow bool) {
					for _, s := range sinks {
						s.SetBlocked(slow)
					}
				},
			}
		},
	})
}

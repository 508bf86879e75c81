package source

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/backoff"
	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/pipeline/pipelinetest"
	"github.com/seabridge/seabridge/internal/streamsea"
	"github.com/seabridge/seabridge/internal/streamsea/emulator"
	"github.com/seabridge/seabridge/internal/testkit/emulatortest"
)

// TestStreamSeaSourceConformance runs the source conformance suite against the emulator. The
// protocol has no replay (Redelivers false), and a lost connection is repaired inside the
// source without Read reporting it, so the suite's disruption test does not apply.
func TestStreamSeaSourceConformance(t *testing.T) {
	ssVerifyNoLeaks(t)
	pipelinetest.RunSourceSuite(t, pipelinetest.SourceHarness{
		Setup: func(t *testing.T) pipelinetest.SourceBackend {
			env := emulatortest.Start(t, emulator.Options{})
			client, err := streamsea.NewClient(streamsea.ClientOptions{BaseURL: env.URL, ClientID: env.ClientID, ClientSecret: env.ClientSecret})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(client.CloseIdleConnections)
			return pipelinetest.SourceBackend{
				NewSource: func(t *testing.T) pipeline.Source {
					src, err := NewStreamSea(StreamSeaOptions{
						Pipeline: "conformance",
						Subscriber: streamsea.SubscriberOptions{
							URL: env.WSURL, ClientID: env.ClientID, ClientSecret: env.ClientSecret,
							Subscriptions: []streamsea.Subscription{{Stream: "suite", GroupID: ssGroup}},
							Backoff:       backoff.Policy{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond},
							DialTimeout:   2 * time.Second,
						},
					}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
					if err != nil {
						t.Fatal(err)
					}
					return src
				},
				Produce: func(ctx context.Context, t *testing.T, values [][]byte) {
					for _, v := range values {
						if err := client.Publish(ctx, "suite", v); err != nil {
							t.Fatalf("publish: %v", err)
						}
					}
				},
			}
		},
	})
}

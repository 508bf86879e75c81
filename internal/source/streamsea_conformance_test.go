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
	"github.com/seabridge/seabridge/internal/spool"
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
			return ssConformanceBackend(t, func(_ *testing.T, src *StreamSea) pipeline.Source { return src })
		},
	})
}

// TestSpooledStreamSeaSourceConformance runs the source conformance suite against a spooled
// source. Its Connect returns before the websocket is subscribed, and what stream-sea sends
// before that is not received, so the suite's source waits for the subscription in Connect.
// Redelivery after reopening is tested by TestSpooledStreamSeaHandsOutWhatWasNotAckedAgainAfterReopening:
// the suite produces before any source subscribed, which stream-sea does not keep.
func TestSpooledStreamSeaSourceConformance(t *testing.T) {
	ssVerifyNoLeaks(t)
	pipelinetest.RunSourceSuite(t, pipelinetest.SourceHarness{
		Setup: func(t *testing.T) pipelinetest.SourceBackend {
			dir := t.TempDir()
			return ssConformanceBackend(t, func(_ *testing.T, src *StreamSea) pipeline.Source {
				return subscribedOnConnect{NewSpooledStreamSea(src, SpooledStreamSeaOptions{
					Pipeline: "conformance", Spool: spool.Options{Dir: dir, MaxBytes: 16 << 20},
					Retry: backoff.Policy{Initial: 10 * time.Millisecond}, DrainFor: time.Second,
				}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)}
			})
		},
	})
}

// ssConformanceBackend is an emulator and a way to publish to its stream "suite"; wrap turns
// each new stream-sea source subscribed to it into the source under test.
func ssConformanceBackend(t *testing.T, wrap func(*testing.T, *StreamSea) pipeline.Source) pipelinetest.SourceBackend {
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
			return wrap(t, src)
		},
		Produce: func(ctx context.Context, t *testing.T, values [][]byte) {
			for _, v := range values {
				if err := client.Publish(ctx, "suite", v); err != nil {
					t.Fatalf("publish: %v", err)
				}
			}
		},
	}
}

// subscribedOnConnect is a spooled source whose Connect also waits for the subscription.
type subscribedOnConnect struct{ *SpooledStreamSea }

func (s subscribedOnConnect) Connect(ctx context.Context) error {
	if err := s.SpooledStreamSea.Connect(ctx); err != nil {
		return err
	}
	for !s.Connected() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

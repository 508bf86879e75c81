package sink

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/backoff"
	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/pipeline/pipelinetest"
	"github.com/seabridge/seabridge/internal/streamsea"
	"github.com/seabridge/seabridge/internal/streamsea/emulator"
	"github.com/seabridge/seabridge/internal/testkit/emulatortest"
)

const conformanceStream = "suite"

// TestStreamSeaSinkConformance runs the sink conformance suite against the emulator, with a
// schema (one string field "id") defined by Connect. A subscriber started before the writes
// collects what the emulator delivers. The sink's REST calls go through a gate that SetSlow
// closes: held publish requests wait until the gate opens or the client gives up.
func TestStreamSeaSinkConformance(t *testing.T) {
	checkStreamSeaLeaks(t)
	schema := &streamsea.Schema{Name: conformanceStream, Version: 1, Fields: []streamsea.Field{{Name: "id", Type: streamsea.TypeString}}}
	pipelinetest.RunSinkSuite(t, pipelinetest.SinkHarness{
		Setup: func(t *testing.T) pipelinetest.SinkBackend {
			env := emulatortest.Start(t, emulator.Options{})
			gate := &publishGate{next: env.Server.Handler()}
			front := httptest.NewServer(gate)
			t.Cleanup(front.Close)
			t.Cleanup(func() { gate.set(false) })
			client, err := streamsea.NewClient(streamsea.ClientOptions{BaseURL: front.URL, ClientID: env.ClientID, ClientSecret: env.ClientSecret, Gzip: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(client.CloseIdleConnections)
			var deliveries chan streamsea.Delivery
			return pipelinetest.SinkBackend{
				NewSink: func(t *testing.T) pipeline.Sink {
					s, err := NewStreamSea(StreamSeaOptions{Pipeline: "p", Client: client, Stream: conformanceStream,
						Schema: schema, Validate: true}, nil, nil)
					if err != nil {
						t.Fatal(err)
					}
					if deliveries == nil {
						deliveries = subscribe(t, env, client, schema)
					}
					return s
				},
				Collect: func(ctx context.Context, t *testing.T, want int) [][]byte {
					var values [][]byte
					for len(values) < want {
						select {
						case d := <-deliveries:
							values = append(values, d.Payload)
						case <-ctx.Done():
							t.Fatalf("collected %d of %d messages: %v", len(values), want, ctx.Err())
						}
					}
					return values
				},
				SetSlow: func(_ *testing.T, on bool) { gate.set(on) },
			}
		},
	})
}

// subscribe defines schema, then runs a subscriber to it until the test ends, and returns its
// deliveries once it is connected.
func subscribe(t *testing.T, env *emulatortest.Env, client *streamsea.Client, schema *streamsea.Schema) chan streamsea.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := client.DefineStream(ctx, schema); err != nil {
		t.Fatalf("define: %v", err)
	}
	sub, err := streamsea.NewSubscriber(streamsea.SubscriberOptions{
		URL: env.WSURL, ClientID: env.ClientID, ClientSecret: env.ClientSecret,
		Subscriptions: []streamsea.Subscription{{Stream: conformanceStream}},
		Backoff:       backoff.Policy{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond},
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	out := make(chan streamsea.Delivery, 1024)
	wg.Go(func() { _ = sub.Run(runCtx) })
	wg.Go(func() {
		for {
			d, err := sub.Next(runCtx)
			if err != nil {
				return
			}
			sub.Release(d)
			select {
			case out <- d:
			case <-runCtx.Done():
				return
			}
		}
	})
	t.Cleanup(func() { stop(); wg.Wait() })
	for !sub.Connected() {
		select {
		case <-ctx.Done():
			t.Fatalf("subscriber not connected: %v", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	return out
}

// publishGate holds publish requests while it is closed.
type publishGate struct {
	next http.Handler
	mu   sync.Mutex
	open chan struct{} // nil while open
}

func (g *publishGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	wait := g.open
	g.mu.Unlock()
	if wait != nil && strings.HasSuffix(r.URL.Path, "/publish") {
		select {
		case <-wait:
		case <-r.Context().Done():
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

func (g *publishGate) set(closed bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case closed && g.open == nil:
		g.open = make(chan struct{})
	case !closed && g.open != nil:
		close(g.open)
		g.open = nil
	}
}

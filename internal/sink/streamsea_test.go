package sink

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/streamsea"
)

const testStream = "portCall"

// desiredSchema is version 2 of testStream: {"key": string, "count": integer}.
func desiredSchema() *streamsea.Schema {
	return &streamsea.Schema{Name: testStream, Version: 2, Fields: []streamsea.Field{
		{Name: "key", Type: streamsea.TypeString},
		{Name: "count", Type: streamsea.TypeInteger},
	}}
}

func withVersion(s *streamsea.Schema, v streamsea.Version) *streamsea.Schema {
	s.Version = v
	return s
}

// serverOnlySchema has one more field than desiredSchema.
func serverOnlySchema(v streamsea.Version) *streamsea.Schema {
	s := withVersion(desiredSchema(), v)
	s.Fields = append(s.Fields, streamsea.Field{Name: "extra", Type: streamsea.TypeString})
	return s
}

type sinkFixture struct {
	fake    *fakeStreamSea
	sink    *StreamSea
	metrics *StreamSeaMetrics
}

func newSinkFixture(t *testing.T, opts StreamSeaOptions, secret string) *sinkFixture {
	t.Helper()
	checkStreamSeaLeaks(t)
	fake := newFakeStreamSea(t)
	opts.Pipeline = "orders"
	opts.Client = fake.client(secret)
	if opts.Stream == "" {
		opts.Stream = testStream
	}
	m := NewStreamSeaMetrics(prometheus.NewRegistry())
	s, err := NewStreamSea(opts, nil, m)
	if err != nil {
		t.Fatalf("NewStreamSea: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return &sinkFixture{fake: fake, sink: s, metrics: m}
}

func (f *sinkFixture) ensureCount(result string) float64 {
	return testutil.ToFloat64(f.metrics.schemaEnsure.WithLabelValues("orders", result))
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestStreamSeaConnectEnsuresSchema(t *testing.T) {
	tests := []struct {
		name        string
		server      *streamsea.Schema // on the server before Connect; nil: none
		onConflict  string
		secret      string
		wantResult  string   // schema_ensure_total result counted; "" for none
		wantFatal   bool     // error wraps pipeline.ErrFatal
		wantText    []string // the error names these
		wantDefined bool
		// a message that only the schema Write validates against accepts
		serverOnlyValid bool
	}{
		{name: "missing is defined", wantResult: ensureDefined, wantDefined: true},
		{name: "older is redefined", server: withVersion(desiredSchema(), 1), wantResult: ensureDefined, wantDefined: true},
		{
			name: "same version same definition", wantResult: ensureUnchanged,
			server: &streamsea.Schema{Name: testStream, Version: 2, Fields: []streamsea.Field{
				{Name: "count", Type: streamsea.TypeInteger}, {Name: "key", Type: streamsea.TypeString},
			}},
		},
		{
			name: "same version different definition", server: serverOnlySchema(2),
			wantResult: ensureConflict, wantFatal: true,
			wantText: []string{`pipeline "orders"`, `stream "portCall"`, "version 2", `field "extra" added`},
		},
		{
			name: "newer with fail", server: serverOnlySchema(5), wantResult: ensureConflict, wantFatal: true,
			wantText: []string{`pipeline "orders"`, `stream "portCall"`, "version 5", "version 2", "newer"},
		},
		{
			name: "newer with use_server", server: serverOnlySchema(5), onConflict: OnSchemaConflictUseServer,
			wantResult: ensureUsedServer, serverOnlyValid: true,
		},
		{
			name: "bad credentials", secret: "wrong", wantFatal: true,
			wantText: []string{`stream-sea rejected the credentials of client "bridge"`, `pipeline "orders"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret := tt.secret
			if secret == "" {
				secret = fakeClientSecret
			}
			f := newSinkFixture(t, StreamSeaOptions{
				Schema: desiredSchema(), Validate: true, OnSchemaConflict: tt.onConflict,
			}, secret)
			if tt.server != nil {
				f.fake.setSchema(tt.server)
			}
			err := f.sink.Connect(testCtx(t))
			if got := errors.Is(err, pipeline.ErrFatal); got != tt.wantFatal || (err != nil) != tt.wantFatal {
				t.Fatalf("Connect = %v, want fatal=%v", err, tt.wantFatal)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			for _, r := range []string{ensureDefined, ensureUnchanged, ensureConflict, ensureUsedServer} {
				want := 0.0
				if r == tt.wantResult {
					want = 1
				}
				if got := f.ensureCount(r); got != want {
					t.Errorf("schema_ensure_total{result=%q} = %v, want %v", r, got, want)
				}
			}
			_, _, defines := f.fake.snapshot()
			if (defines == 1) != tt.wantDefined || defines > 1 {
				t.Errorf("%d define calls, want defined=%v", defines, tt.wantDefined)
			}
			if err != nil {
				return
			}
			checkValidatesAgainst(t, f.sink, tt.serverOnlyValid)
		})
	}
}

// checkValidatesAgainst writes a message valid only for the server's larger schema: it must be
// published when the sink validates against that schema, and be poison otherwise.
func checkValidatesAgainst(t *testing.T, s *StreamSea, serverSchema bool) {
	t.Helper()
	err := s.Write(testCtx(t), []*pipeline.Message{{Value: []byte(`{"key":"a","count":1,"extra":"x"}`)}})
	poison, isPoison := errors.AsType[*pipeline.PoisonError](err)
	switch {
	case serverSchema && err != nil:
		t.Errorf("Write against the server's schema = %v, want nil", err)
	case !serverSchema && (!isPoison || len(poison.Errs) != 1):
		t.Errorf("Write against the configured schema = %v, want one poison message", err)
	}
}

func TestStreamSeaConnectRetriableErrors(t *testing.T) {
	t.Run("server down", func(t *testing.T) {
		f := newSinkFixture(t, StreamSeaOptions{Schema: desiredSchema(), Validate: true}, fakeClientSecret)
		f.fake.srv.Close()
		err := f.sink.Connect(testCtx(t))
		if err == nil || errors.Is(err, pipeline.ErrFatal) || !streamsea.IsRetriable(err) {
			t.Errorf("Connect = %v, want a retriable, non-fatal error", err)
		}
	})
	t.Run("no schema still checks credentials", func(t *testing.T) {
		f := newSinkFixture(t, StreamSeaOptions{}, "wrong")
		if err := f.sink.Connect(testCtx(t)); !errors.Is(err, pipeline.ErrFatal) {
			t.Errorf("Connect = %v, want fatal", err)
		}
	})
}

func TestNewStreamSeaRejectsBadOptions(t *testing.T) {
	client, err := streamsea.NewClient(streamsea.ClientOptions{BaseURL: "http://127.0.0.1:1", ClientID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	otherName := desiredSchema()
	otherName.Name = "other"
	badField := desiredSchema()
	badField.Fields = append(badField.Fields, streamsea.Field{Name: "x", Type: "uuid"})
	tests := []struct {
		name string
		opts StreamSeaOptions
	}{
		{"no client", StreamSeaOptions{Stream: "s"}},
		{"no stream", StreamSeaOptions{Client: client}},
		{"bad conflict policy", StreamSeaOptions{Client: client, Stream: "s", OnSchemaConflict: "merge"}},
		{"schema name differs", StreamSeaOptions{Client: client, Stream: testStream, Schema: otherName}},
		{"invalid schema", StreamSeaOptions{Client: client, Stream: testStream, Schema: badField}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewStreamSea(tt.opts, nil, nil); err == nil {
				t.Error("want an error")
			}
		})
	}
}

func TestStreamSeaLifecycle(t *testing.T) {
	f := newSinkFixture(t, StreamSeaOptions{}, fakeClientSecret)
	msgs := []*pipeline.Message{{Value: []byte(`{"a":1}`)}}
	if err := f.sink.Write(testCtx(t), msgs); !errors.Is(err, pipeline.ErrNotConnected) {
		t.Errorf("Write before Connect = %v, want ErrNotConnected", err)
	}
	if err := f.sink.Connect(testCtx(t)); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if err := f.sink.Write(testCtx(t), msgs); err != nil {
		t.Fatalf("Write: %v", err)
	}
	for range 2 {
		if err := f.sink.Close(testCtx(t)); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	if err := f.sink.Write(testCtx(t), msgs); err == nil {
		t.Error("Write after Close succeeded")
	}
	if err := f.sink.Connect(testCtx(t)); err == nil {
		t.Error("Connect after Close succeeded")
	}
}

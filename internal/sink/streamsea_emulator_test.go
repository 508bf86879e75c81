package sink

import (
	"errors"
	"fmt"
	"testing"

	"go.uber.org/goleak"

	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/streamsea"
	"github.com/seabridge/seabridge/internal/streamsea/emulator"
)

// checkStreamSeaLeaks checks, after every other cleanup of the test, that the test left no
// goroutine behind (goroutines running before it are ignored).
func checkStreamSeaLeaks(t *testing.T) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}

func startEmulator(t *testing.T) *emulator.Server {
	t.Helper()
	srv, err := emulator.New(emulator.Options{Clients: []emulator.Client{{ID: fakeClientID, Secret: fakeClientSecret}}})
	if err != nil {
		t.Fatalf("emulator.New: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("emulator Start: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func emulatorClient(t *testing.T, srv *emulator.Server) *streamsea.Client {
	t.Helper()
	c, err := streamsea.NewClient(streamsea.ClientOptions{
		BaseURL: srv.URL(), ClientID: fakeClientID, ClientSecret: fakeClientSecret, Gzip: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func publishedOn(srv *emulator.Server, stream string) uint64 {
	for _, s := range srv.Stats().Streams {
		if s.Stream == stream {
			return s.Published
		}
	}
	return 0
}

// TestStreamSeaAgainstEmulator runs the sink against the in-memory stream-sea server: the
// schema is defined at the first Connect and found unchanged at the second, the server's own
// validation rejects what local validation (off here) let through, and bisection dead-letters
// exactly those messages.
func TestStreamSeaAgainstEmulator(t *testing.T) {
	checkStreamSeaLeaks(t)
	srv := startEmulator(t)
	client := emulatorClient(t, srv)
	opts := StreamSeaOptions{Pipeline: "orders", Client: client, Stream: testStream, Schema: desiredSchema()}
	m := NewStreamSeaMetrics(nil)
	for _, want := range []string{ensureDefined, ensureUnchanged} {
		s, err := NewStreamSea(opts, nil, m)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Connect(testCtx(t)); err != nil {
			t.Fatalf("Connect: %v", err)
		}
		assertEnsureCount(t, m, want, 1)
		if want == ensureUnchanged {
			writeMixedBatch(t, srv, s)
		}
		_ = s.Close(testCtx(t))
	}
}

func assertEnsureCount(t *testing.T, m *StreamSeaMetrics, result string, want float64) {
	t.Helper()
	f := &sinkFixture{metrics: m}
	if got := f.ensureCount(result); got != want {
		t.Errorf("schema_ensure_total{result=%q} = %v, want %v", result, got, want)
	}
}

func writeMixedBatch(t *testing.T, srv *emulator.Server, s *StreamSea) {
	t.Helper()
	var values []string
	for i := range 20 {
		if i%6 == 5 {
			values = append(values, fmt.Sprintf(`{"key":"k%d","count":"not a number"}`, i))
			continue
		}
		values = append(values, fmt.Sprintf(`{"key":"k%d","count":%d}`, i, i))
	}
	err := s.Write(testCtx(t), messages(values...))
	if got := poisonIndexes(t, err); fmt.Sprint(got) != "[5 11 17]" {
		t.Fatalf("poison indexes = %v, want [5 11 17]", got)
	}
	if got := publishedOn(srv, testStream); got != 17 {
		t.Errorf("the emulator counted %d published messages, want 17", got)
	}
}

func TestStreamSeaEmulatorSchemaConflict(t *testing.T) {
	checkStreamSeaLeaks(t)
	srv := startEmulator(t)
	client := emulatorClient(t, srv)
	if _, err := client.DefineStream(testCtx(t), serverOnlySchema(3)); err != nil {
		t.Fatalf("DefineStream: %v", err)
	}
	tests := []struct {
		onConflict string
		wantFatal  bool
	}{
		{OnSchemaConflictFail, true},
		{OnSchemaConflictUseServer, false},
	}
	for _, tt := range tests {
		t.Run(tt.onConflict, func(t *testing.T) {
			s, err := NewStreamSea(StreamSeaOptions{
				Pipeline: "orders", Client: client, Stream: testStream, Schema: desiredSchema(),
				OnSchemaConflict: tt.onConflict, Validate: true,
			}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = s.Connect(testCtx(t))
			if got := errors.Is(err, pipeline.ErrFatal); got != tt.wantFatal || (err != nil) != tt.wantFatal {
				t.Fatalf("Connect = %v, want fatal=%v", err, tt.wantFatal)
			}
			if err == nil {
				checkValidatesAgainst(t, s, true)
			}
		})
	}
}

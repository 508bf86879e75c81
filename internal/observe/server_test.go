package observe

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestServerEndpoints(t *testing.T) {
	var ready atomic.Bool
	reg := NewRegistry("test-1")
	srv, err := NewServer(ServerOptions{
		Listen:   "127.0.0.1:0",
		Gatherer: reg,
		Checks: func() []ReadinessCheck {
			return []ReadinessCheck{{Name: "pipeline/boiler", Ready: func() (bool, string) {
				if ready.Load() {
					return true, ""
				}
				return false, "source not connected"
			}}}
		},
		Routes: []Route{{Pattern: "GET /hello", Doc: "a greeting", Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("hi\n"))
		})}},
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	base := "http://" + srv.Addr()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/livez"); code != 200 || body != "ok\n" {
		t.Fatalf("livez = %d %q", code, body)
	}
	code, body := get("/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "source not connected") {
		t.Fatalf("readyz while not ready = %d %q", code, body)
	}
	ready.Store(true)
	code, body = get("/readyz")
	var parsed struct{ Ready bool }
	if code != 200 || json.Unmarshal([]byte(body), &parsed) != nil || !parsed.Ready {
		t.Fatalf("readyz when ready = %d %q", code, body)
	}
	code, body = get("/metrics")
	if code != 200 || !strings.Contains(body, `seabridge_build_info{goversion=`) || !strings.Contains(body, `version="test-1"`) {
		t.Fatalf("metrics = %d, missing build info:\n%.500s", code, body)
	}
	if code, _ := get("/nope"); code != 404 {
		t.Fatalf("unknown path = %d, want 404", code)
	}
	if code, body := get("/hello"); code != 200 || body != "hi\n" {
		t.Fatalf("an added route = %d %q", code, body)
	}
	if code, body := get("/"); code != 200 || !strings.Contains(body, "/hello") || !strings.Contains(body, "a greeting") || strings.Contains(body, "pprof") {
		t.Fatalf("index = %d %q, want the added route listed and no pprof", code, body)
	}
	if code, _ := get("/debug/pprof/"); code != 404 {
		t.Fatalf("/debug/pprof/ without Pprof = %d, want 404", code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestServerReportsPortInUse(t *testing.T) {
	a, err := NewServer(ServerOptions{Listen: "127.0.0.1:0", Gatherer: NewRegistry("x")}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.ln.Close()
	if _, err := NewServer(ServerOptions{Listen: a.Addr(), Gatherer: NewRegistry("x")}, slog.New(slog.DiscardHandler)); err == nil ||
		!strings.Contains(err.Error(), "listen on") {
		t.Fatalf("second server on the same port: err = %v", err)
	}
}

func TestServerPprofWhenEnabled(t *testing.T) {
	srv, err := NewServer(ServerOptions{Listen: "127.0.0.1:0", Gatherer: NewRegistry("x"), Pprof: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	for path, want := range map[string]string{
		"/debug/pprof/":                  "goroutine",
		"/debug/pprof/goroutine?debug=1": "goroutine profile:",
		"/debug/pprof/cmdline":           "",
		"/":                              "/debug/pprof/",
	} {
		resp, err := http.Get("http://" + srv.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s = %d, want 200 with %q:\n%.300s", path, resp.StatusCode, want, body)
		}
	}
}

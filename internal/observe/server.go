// Package observe exposes the bridge to operators: the Prometheus registry, the HTTP server
// with /metrics, /livez and /readyz, and the consumer-group lag collector.
//
// The server runs until its context is cancelled; it holds no pipeline state itself and asks
// the ReadinessChecks it was given on every /readyz request.
package observe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns the bridge's own registry with the Go runtime and process collectors
// and a seabridge_build_info gauge.
func NewRegistry(version string) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "seabridge", Name: "build_info",
		Help:        "Always 1; labels carry the bridge version and the Go version it was built with.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	})
	info.Set(1)
	reg.MustRegister(info)
	return reg
}

// ReadinessCheck reports whether one part of the bridge is ready, and why not.
type ReadinessCheck struct {
	Name  string
	Ready func() (bool, string)
}

// ServerOptions configure the HTTP server.
type ServerOptions struct {
	Listen   string // host:port; ":0" picks a free port
	Gatherer prometheus.Gatherer
	Checks   []ReadinessCheck
}

// Server serves /metrics, /livez and /readyz.
type Server struct {
	opts   ServerOptions
	log    *slog.Logger
	ln     net.Listener
	server *http.Server
}

// NewServer binds the listen address at once, so that a port conflict is reported at start-up
// rather than later from Run.
func NewServer(opts ServerOptions, logger *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("http server: listen on %s: %w", opts.Listen, err)
	}
	s := &Server{opts: opts, log: logger, ln: ln}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError), EnableOpenMetrics: true,
	}))
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /{$}", s.index)
	s.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Run serves until ctx is done, then shuts the server down within five seconds.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.server.Serve(s.ln) }()
	s.log.Info("http server listening", "addr", s.Addr(), "endpoints", "/metrics /livez /readyz")
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.server.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("http server: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	return nil
}

type checkResult struct {
	Name   string `json:"name"`
	Ready  bool   `json:"ready"`
	Reason string `json:"reason,omitempty"`
}

// readyz answers 200 when every check is ready and 503 otherwise, with a JSON body listing
// each check; "?verbose" is accepted for familiarity and changes nothing.
func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	results := make([]checkResult, 0, len(s.opts.Checks))
	ready := true
	for _, c := range s.opts.Checks {
		ok, why := c.Ready()
		results = append(results, checkResult{Name: c.Name, Ready: ok, Reason: why})
		ready = ready && ok
	}
	sort.Slice(results, func(i, j int) bool { return results[i].Name < results[j].Name })
	w.Header().Set("Content-Type", "application/json")
	if !ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(struct {
		Ready  bool          `json:"ready"`
		Checks []checkResult `json:"checks"`
	}{ready, results})
}

func (s *Server) index(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("seabridge\n/metrics  Prometheus metrics\n/livez    liveness (200 while the process serves)\n/readyz   readiness (200 when every pipeline is connected; JSON detail)\n"))
}

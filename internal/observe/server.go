// Package observe exposes the bridge to operators: the Prometheus registry, the HTTP server
// with /metrics, /livez, /readyz, the routes its owner adds (/pipelines) and, when enabled,
// /debug/pprof/, and the consumer-group lag collector.
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
	"net/http/pprof"
	"runtime"
	"sort"
	"strings"
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
	// Checks returns the readiness checks, asked on every /readyz request: the set may change
	// while the server runs. Nil: none (always ready).
	Checks func() []ReadinessCheck
	Routes []Route // further endpoints, listed on the index page
	// Pprof serves the Go runtime profiles (net/http/pprof) under /debug/pprof/.
	Pprof bool
}

// Route is one further endpoint of the server.
type Route struct {
	Pattern string // a net/http ServeMux pattern, e.g. "GET /pipelines/{name}"
	Handler http.Handler
	Doc     string // one line for the index page; "" leaves the route off it
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
	for _, r := range opts.Routes {
		mux.Handle(r.Pattern, r.Handler)
	}
	if opts.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
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
	s.log.Info("http server listening", "addr", s.Addr(), "endpoints", strings.Join(s.endpoints(), " "))
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
	var checks []ReadinessCheck
	if s.opts.Checks != nil {
		checks = s.opts.Checks()
	}
	results := make([]checkResult, 0, len(checks))
	ready := true
	for _, c := range checks {
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

// endpoints lists the paths served, for the start-up log line.
func (s *Server) endpoints() []string {
	out := []string{"/metrics", "/livez", "/readyz"}
	for _, r := range s.opts.Routes {
		if r.Doc != "" {
			out = append(out, routePath(r.Pattern))
		}
	}
	if s.opts.Pprof {
		out = append(out, "/debug/pprof/")
	}
	return out
}

// routePath is the path of a ServeMux pattern: "GET /pipelines" -> "/pipelines".
func routePath(pattern string) string {
	if _, path, ok := strings.Cut(pattern, " "); ok {
		return path
	}
	return pattern
}

func (s *Server) index(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var b strings.Builder
	b.WriteString("seabridge\n")
	row := func(path, doc string) { fmt.Fprintf(&b, "%-22s %s\n", path, doc) }
	row("/metrics", "Prometheus metrics")
	row("/livez", "liveness (200 while the process serves)")
	row("/readyz", "readiness (200 when every pipeline is connected; JSON detail)")
	for _, r := range s.opts.Routes {
		if r.Doc != "" {
			row(routePath(r.Pattern), r.Doc)
		}
	}
	if s.opts.Pprof {
		row("/debug/pprof/", "Go runtime profiles (http.pprof = true)")
	}
	_, _ = w.Write([]byte(b.String()))
}

package benchmark

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// bridgeProc is the bridge under test, run as its own process: bridge run --config FILE.
type bridgeProc struct {
	*proc
	url string // base URL of its metrics and health listener
	dir string // holds the config file
}

// startBridge writes cfg to a file and starts the bridge binary on it. The bridge sees the
// bench process's environment without its BRIDGE_* variables, plus the overrides of
// o.Environ that apply to cfg.
func startBridge(o Options, cfg bridgeConfig) (*bridgeProc, error) {
	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cfg.listen = listen
	if err := cfg.check(o.Environ); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "seabridge-bench-")
	if err != nil {
		return nil, fmt.Errorf("bridge config: %w", err)
	}
	path := filepath.Join(dir, "bridge.toml")
	if err := os.WriteFile(path, []byte(cfg.toml()), 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("bridge config: %w", err)
	}
	env := append(withoutBridgeVars(os.Environ()), cfg.environ(o.Environ)...)
	args := []string{"run", "--config", path}
	if o.CPUProfiles != "" {
		args = append(args, "--cpu-profile", profilePath(o.CPUProfiles, cfg))
	}
	p, err := startProc("bridge", o.Bridge, args, env)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return &bridgeProc{proc: p, url: "http://" + listen, dir: dir}, nil
}

// bridgesStarted numbers the bridge processes of this bench process, for profile names.
var bridgesStarted atomic.Int64

// profilePath is where a bridge process for cfg writes its CPU profile in dir:
// "bridge-003-bench-kafka-to-streamsea.pprof".
func profilePath(dir string, cfg bridgeConfig) string {
	name := "idle"
	if len(cfg.pipelines) > 0 {
		name = cfg.pipelines[0].name
	}
	return filepath.Join(dir, fmt.Sprintf("bridge-%03d-%s.pprof", bridgesStarted.Add(1), name))
}

func withoutBridgeVars(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "BRIDGE_") {
			out = append(out, kv)
		}
	}
	return out
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr, nil
}

// waitReady polls /readyz until it answers 200 (every pipeline connected), the process exits,
// or ctx ends.
func (b *bridgeProc) waitReady(ctx context.Context) error {
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	client := &http.Client{Timeout: time.Second, Transport: transport}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.url+"/readyz", nil)
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the bridge to be ready: %w: %s", ctx.Err(), b.stderr.String())
		case <-b.exited:
			return fmt.Errorf("the bridge exited before it was ready: %v: %s", b.err, b.stderr.String())
		case <-tick.C:
		}
	}
}

// stop stops the bridge (SIGTERM, then SIGKILL after grace) and removes its config.
func (b *bridgeProc) stop(grace time.Duration) error {
	defer os.RemoveAll(b.dir)
	return b.proc.stop(grace)
}

package prometheus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/testkit/proctest"
)

// promServer is a Prometheus server run as a process on 127.0.0.1, stopped by its PID when
// the test ends.
type promServer struct {
	url    string
	cmd    *exec.Cmd
	output *bytes.Buffer
}

// startPrometheus writes config (prometheus.yml) to a fresh directory, starts the server on a
// free port with its storage there, and waits until it is ready.
func startPrometheus(t *testing.T, config string) *promServer {
	t.Helper()
	bin := tool(t, "PROMETHEUS", "prometheus")
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := proctest.FreeAddr(t)
	s := &promServer{url: "http://" + addr, output: &bytes.Buffer{}}
	s.cmd = exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	s.cmd.Stdout, s.cmd.Stderr = s.output, s.output
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = s.cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("prometheus output:\n%s", s.output.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		code, _, err := proctest.Get(ctx, s.url+"/-/ready")
		cancel()
		if err == nil && code == http.StatusOK {
			return s
		}
		select {
		case <-done:
			t.Fatalf("prometheus exited before it was ready:\n%s", s.output.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus at %s not ready within 30s (last: %d %v):\n%s", s.url, code, err, s.output.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sample is one element of an instant vector.
type sample struct {
	Metric map[string]string
	Time   float64
	Value  float64
}

// apiResponse is the envelope of Prometheus's HTTP API.
type apiResponse struct {
	Status    string          `json:"status"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Data      json.RawMessage `json:"data"`
}

// get calls an API endpoint and returns its data, or the API's error.
func (s *promServer) get(ctx context.Context, path string, params url.Values) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+path+"?"+params.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s", r.ErrorType, r.Error)
	}
	return r.Data, nil
}

// query evaluates expr at time at (the server's now when zero) and returns the vector, or
// a scalar as a one-sample vector.
func (s *promServer) query(ctx context.Context, expr string, at float64) ([]sample, error) {
	params := url.Values{"query": {expr}}
	if at != 0 {
		params.Set("time", strconv.FormatFloat(at, 'f', 3, 64))
	}
	data, err := s.get(ctx, "/api/v1/query", params)
	if err != nil {
		return nil, err
	}
	var d struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	switch d.ResultType {
	case "vector":
		var raw []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		if err := json.Unmarshal(d.Result, &raw); err != nil {
			return nil, err
		}
		out := make([]sample, 0, len(raw))
		for _, r := range raw {
			sm, err := toSample(r.Value)
			if err != nil {
				return nil, err
			}
			sm.Metric = r.Metric
			out = append(out, sm)
		}
		return out, nil
	case "scalar":
		var v [2]any
		if err := json.Unmarshal(d.Result, &v); err != nil {
			return nil, err
		}
		sm, err := toSample(v)
		return []sample{sm}, err
	default:
		return nil, fmt.Errorf("result type %s", d.ResultType)
	}
}

func toSample(v [2]any) (sample, error) {
	ts, ok1 := v[0].(float64)
	val, ok2 := v[1].(string)
	if !ok1 || !ok2 {
		return sample{}, fmt.Errorf("bad sample %v", v)
	}
	f, err := strconv.ParseFloat(val, 64)
	return sample{Time: ts, Value: f}, err
}

// mustQuery is query that fails the test on error, within 10 seconds.
func (s *promServer) mustQuery(t *testing.T, expr string, at float64) []sample {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	v, err := s.query(ctx, expr, at)
	if err != nil {
		t.Fatalf("query %s: %v", expr, err)
	}
	return v
}

// waitQuery polls expr until cond holds for its result; the test fails after timeout.
func (s *promServer) waitQuery(t *testing.T, what, expr string, timeout time.Duration, cond func([]sample) bool) []sample {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v := s.mustQuery(t, expr, 0)
		if cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting %v for %s: %s = %v", timeout, what, expr, v)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// byLabel indexes a vector by the value of one label.
func byLabel(v []sample, label string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range v {
		out[s.Metric[label]] += s.Value
	}
	return out
}

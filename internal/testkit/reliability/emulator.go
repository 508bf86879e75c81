package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/streamsea/emulator"
	"github.com/seabridge/seabridge/internal/testkit/faultproxy"
	"github.com/seabridge/seabridge/internal/testkit/proctest"
)

// Emulator is `bridge emulator` as its own process with a fault proxy in front of it. The
// bridge reaches it through the proxy (BridgeURL); the harness's publishers and recorders
// reach it directly (URL), so that a fault on the bridge's path does not touch them.
type Emulator struct {
	t     testing.TB
	args  []string
	Addr  string // 127.0.0.1:PORT of the emulator
	URL   string // http://Addr
	Proxy *faultproxy.Proxy
	proc  *proctest.Emulator

	// Before is the sum of the stats of earlier processes (a restart forgets everything).
	Before  map[string]emulator.StreamStats
	oldLogs []string // stderr of earlier processes
}

// Logs is the stderr of every process of the emulator, oldest first.
func (e *Emulator) Logs() []string {
	return append(append([]string(nil), e.oldLogs...), e.proc.Stderr())
}

// StartEmulator starts an emulator process on a free port, with extra flags, and a proxy in
// front of it.
func StartEmulator(t testing.TB, extraArgs ...string) *Emulator {
	t.Helper()
	e := &Emulator{t: t, args: extraArgs, Before: map[string]emulator.StreamStats{}}
	e.proc = proctest.StartEmulator(t, extraArgs...)
	e.Addr, e.URL = e.proc.Addr, e.proc.URL
	p, err := faultproxy.New("127.0.0.1:0", e.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	e.Proxy = p
	return e
}

// BridgeURL is the base URL the bridge is configured with: the proxy's.
func (e *Emulator) BridgeURL() string { return "http://" + e.Proxy.Addr() }

// Restart stops the emulator process (SIGKILL when kill is true, else SIGTERM), keeps its
// last stats in Before, waits down (0 for none), and starts a new process on the same
// address. The new one knows no schema, stream or subscription.
func (e *Emulator) Restart(kill bool, down time.Duration) {
	e.t.Helper()
	if st, err := e.Stats(); err == nil {
		for _, s := range st.Streams {
			e.Before[s.Stream] = addStats(e.Before[s.Stream], s)
		}
	}
	if kill {
		e.proc.Kill()
	} else {
		e.proc.Signal(syscall.SIGTERM)
		e.proc.Wait(30 * time.Second)
	}
	e.oldLogs = append(e.oldLogs, e.proc.Stderr())
	time.Sleep(down)
	e.proc = proctest.StartEmulatorAt(e.t, e.Addr, e.args...)
}

func addStats(a, b emulator.StreamStats) emulator.StreamStats {
	a.Stream, a.Jail, a.HasSchema = b.Stream, b.Jail, b.HasSchema
	a.Published += b.Published
	a.Delivered += b.Delivered
	a.Dropped += b.Dropped
	a.Unrouted += b.Unrouted
	return a
}

// Stats fetches /emulator/stats of the running process.
func (e *Emulator) Stats() (emulator.Stats, error) {
	var st emulator.Stats
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	code, body, err := proctest.Get(ctx, e.URL+"/emulator/stats")
	if err != nil {
		return st, err
	}
	if code != http.StatusOK {
		return st, fmt.Errorf("GET /emulator/stats: %d %s", code, body)
	}
	err = json.Unmarshal([]byte(body), &st)
	return st, err
}

// StreamStats is the stream's stats over every process of the emulator (earlier ones from
// Before, the running one fetched now).
func (e *Emulator) StreamStats(stream string) (emulator.StreamStats, error) {
	st, err := e.Stats()
	if err != nil {
		return emulator.StreamStats{}, err
	}
	total := e.Before[stream]
	for _, s := range st.Streams {
		if s.Stream == stream {
			total = addStats(total, s)
		}
	}
	total.Stream = stream
	return total, nil
}

// WaitQuiet waits up to limit until the emulator has settled every message of stream:
// delivered, dropped or unrouted, none still queued. It reports whether it has.
func (e *Emulator) WaitQuiet(stream string, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if st, err := e.StreamStats(stream); err == nil && st.Published == st.Delivered+st.Dropped+st.Unrouted {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// Fault is one entry of /emulator/faults (docs/emulator.md).
type Fault struct {
	Kind       string `json:"kind"`                 // error, latency, hang
	Status     int    `json:"status,omitempty"`     // error: 400..599
	RetryAfter any    `json:"retryAfter,omitempty"` // error: seconds or an HTTP date
	Latency    string `json:"latency,omitempty"`    // Go duration
	Route      string `json:"route,omitempty"`      // publish, define, describe, versions, websocket, ...
	Stream     string `json:"stream,omitempty"`
	Duration   string `json:"duration,omitempty"` // Go duration
	Count      int    `json:"count,omitempty"`
}

// AddFault posts a fault to the emulator and returns its id.
func (e *Emulator) AddFault(f Fault) string {
	e.t.Helper()
	body, _ := json.Marshal(f)
	resp, err := http.Post(e.URL+"/emulator/faults", "application/json", bytes.NewReader(body))
	if err != nil {
		e.t.Fatalf("reliability: add fault %+v: %v", f, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		e.t.Fatalf("reliability: add fault %+v: %d %s", f, resp.StatusCode, b)
	}
	var state struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(b, &state)
	return state.ID
}

// WaitFaultApplied waits up to limit until the fault with the given id has been applied to
// at least one request, and reports whether it was.
func (e *Emulator) WaitFaultApplied(id string, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		code, body, err := proctest.Get(ctx, e.URL+"/emulator/faults")
		cancel()
		if err == nil && code == http.StatusOK {
			var list struct {
				Faults []struct {
					ID      string `json:"id"`
					Applied int    `json:"applied"`
				} `json:"faults"`
			}
			if json.Unmarshal([]byte(body), &list) == nil {
				for _, f := range list.Faults {
					if f.ID == id && f.Applied > 0 {
						return true
					}
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// ClearFaults removes every fault and releases hung requests.
func (e *Emulator) ClearFaults() {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, e.URL+"/emulator/faults", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("reliability: clear faults: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("reliability: clear faults: %d", resp.StatusCode)
	}
}

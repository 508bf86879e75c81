package emulator

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// addFault posts a fault and returns its id, failing the test unless it is accepted.
func addFault(t *testing.T, hc *http.Client, s *Server, body map[string]any) string {
	t.Helper()
	a := do(t, hc, s, call{method: "POST", path: "/emulator/faults", body: body})
	if a.status != http.StatusCreated {
		t.Fatalf("POST /emulator/faults %v: %d %s", body, a.status, a.raw)
	}
	id, _ := a.json["id"].(string)
	if id == "" {
		t.Fatalf("no id in %s", a.raw)
	}
	return id
}

func listFaults(t *testing.T, hc *http.Client, s *Server) []any {
	t.Helper()
	a := do(t, hc, s, call{method: "GET", path: "/emulator/faults"})
	if a.status != http.StatusOK {
		t.Fatalf("GET /emulator/faults: %d %s", a.status, a.raw)
	}
	list, ok := a.json["faults"].([]any)
	if !ok {
		t.Fatalf("GET /emulator/faults: no list in %s", a.raw)
	}
	return list
}

func publishCall(stream string) call {
	return as(call{method: "POST", path: "/api/v1/streams/" + stream + "/publish", body: map[string]any{"payload": map[string]any{"a": 1}}})
}

func TestFaultErrorWithRetryAfterForACount(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	addFault(t, hc, s, map[string]any{"kind": "error", "status": 503, "retryAfter": 2, "route": "publish", "count": 2})

	for i := range 2 {
		req, _ := http.NewRequest("POST", s.URL()+"/api/v1/streams/s/publish", strings.NewReader(`{"payload":{}}`))
		req.SetBasicAuth(testClient, testSecret)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "2" {
			t.Fatalf("request %d: %d Retry-After %q, want 503 and 2", i, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if i == 0 {
			list := listFaults(t, hc, s)
			if len(list) != 1 || list[0].(map[string]any)["remaining"] != 1.0 || list[0].(map[string]any)["applied"] != 1.0 {
				t.Fatalf("after one request: %v", list)
			}
		}
	}
	if a := do(t, hc, s, publishCall("s")); a.status != 200 {
		t.Fatalf("third publish: %d %s, want 200 once the count is spent", a.status, a.raw)
	}
	if list := listFaults(t, hc, s); len(list) != 0 {
		t.Fatalf("spent fault still listed: %v", list)
	}
	// Other routes were never affected.
	if a := do(t, hc, s, as(call{method: "GET", path: "/api/v1/streams/s/schema"})); a.status != 404 {
		t.Fatalf("describe: %d %s", a.status, a.raw)
	}
}

func TestFaultIsCheckedBeforeAuthentication(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	addFault(t, hc, s, map[string]any{"kind": "error", "status": 429, "retryAfter": "Wed, 21 Oct 2037 07:28:00 GMT", "message": "slow down"})
	a := do(t, hc, s, call{method: "POST", path: "/api/v1/schema-versions-vector", user: "nobody", pass: "x", body: map[string]any{}})
	if a.status != 429 || a.message() != "slow down" {
		t.Fatalf("got %d %s, want the injected 429", a.status, a.raw)
	}
}

func TestFaultPerStream(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	addFault(t, hc, s, map[string]any{"kind": "error", "stream": "bad"})
	if a := do(t, hc, s, publishCall("bad")); a.status != 500 || !strings.Contains(a.message(), "injected fault") {
		t.Fatalf("publish to bad: %d %s", a.status, a.raw)
	}
	if a := do(t, hc, s, as(call{method: "GET", path: "/api/v1/streams/bad/schema"})); a.status != 500 {
		t.Fatalf("describe bad: %d %s", a.status, a.raw)
	}
	if a := do(t, hc, s, publishCall("good")); a.status != 200 {
		t.Fatalf("publish to good: %d %s", a.status, a.raw)
	}
	if a := do(t, hc, s, as(call{method: "POST", path: "/api/v1/schema-versions-vector", body: map[string]any{"schemaNames": []string{"bad"}}})); a.status != 200 {
		t.Fatalf("versions vector: %d %s", a.status, a.raw)
	}
}

func TestFaultDurationExpires(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	start := time.Now() // before the fault exists: it cannot expire earlier than 300 ms after this
	id := addFault(t, hc, s, map[string]any{"kind": "error", "duration": "300ms"})
	st := s.Faults()
	if len(st) != 1 || st[0].ID != id || st[0].ExpiresAt == nil || st[0].DurationText != "300ms" {
		t.Fatalf("state: %+v", st)
	}
	if a := do(t, hc, s, publishCall("s")); a.status != 500 && time.Since(start) < 300*time.Millisecond {
		t.Fatalf("publish during the fault: %d", a.status)
	}
	waitFor(t, "the fault to expire", func() bool { return do(t, hc, s, publishCall("s")).status == 200 })
	if time.Since(start) < 300*time.Millisecond {
		t.Fatal("the fault ended before its duration")
	}
	if len(s.Faults()) != 0 {
		t.Fatalf("expired fault listed: %+v", s.Faults())
	}
}

func TestFaultLatency(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	addFault(t, hc, s, map[string]any{"kind": "latency", "latency": "300ms", "route": "publish", "count": 1})
	start := time.Now()
	if a := do(t, hc, s, publishCall("s")); a.status != 200 {
		t.Fatalf("delayed publish: %d %s", a.status, a.raw)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Fatalf("publish took %v, want at least the 300ms latency", took)
	}
	addFault(t, hc, s, map[string]any{"kind": "error", "status": 502, "latency": "200ms", "count": 1})
	start = time.Now()
	if a := do(t, hc, s, publishCall("s")); a.status != 502 || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("slow error: %d after %v", a.status, time.Since(start))
	}
}

func TestFaultHangUntilRemoved(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	id := addFault(t, hc, s, map[string]any{"kind": "hang", "route": "publish"})
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("POST", s.URL()+"/api/v1/streams/s/publish", strings.NewReader(`{"payload":{}}`))
		req.SetBasicAuth(testClient, testSecret)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			err = errors.New("answered " + resp.Status)
		}
		done <- err
	}()
	waitFor(t, "the request to be held", func() bool {
		st := s.Faults()
		return len(st) == 1 && st[0].Applied == 1
	})
	select {
	case err := <-done:
		t.Fatalf("the hung request returned: %v", err)
	default:
	}
	if a := do(t, hc, s, call{method: "DELETE", path: "/emulator/faults/" + id}); a.status != 200 {
		t.Fatalf("DELETE fault: %d %s", a.status, a.raw)
	}
	select {
	case err := <-done:
		if err == nil || strings.Contains(err.Error(), "answered") {
			t.Fatalf("the released request got %v, want a closed connection", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the hung request was not released")
	}
	if a := do(t, hc, s, publishCall("s")); a.status != 200 {
		t.Fatalf("publish after removal: %d", a.status)
	}
}

func TestFaultHangReleasedByResetAndClose(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	addFault(t, hc, s, map[string]any{"kind": "hang", "count": 1}) // spent by its first request
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A fresh connection per request: the transport retries a GET whose reused connection
	// closed without an answer, which would hide the abort.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	hang := func() chan error {
		done := make(chan error, 1)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", s.URL()+"/api/v1/streams/s/schema", nil)
			resp, err := fresh.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		return done
	}
	first := hang()
	waitFor(t, "the fault to be spent", func() bool { return len(s.Faults()) == 0 })
	if a := do(t, hc, s, call{method: "DELETE", path: "/emulator/faults"}); a.status != 200 || a.json["removed"] != 0.0 {
		t.Fatalf("reset: %d %s", a.status, a.raw)
	}
	if err := <-first; err == nil || ctx.Err() != nil {
		t.Fatalf("request hung by a spent fault: %v (ctx %v), want released by the reset", err, ctx.Err())
	}

	addFault(t, hc, s, map[string]any{"kind": "hang"})
	second := hang()
	waitFor(t, "the request to be held", func() bool { return s.Faults()[0].Applied == 1 })
	closed := make(chan struct{})
	go func() { _ = s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for a hung request")
	}
	if err := <-second; err == nil || ctx.Err() != nil {
		t.Fatalf("request hung at Close: %v (ctx %v)", err, ctx.Err())
	}
}

func TestFaultOnWebsocketUpgrade(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	addFault(t, hc, s, map[string]any{"kind": "error"}) // every REST route, not the websocket
	login(t, s)
	s.ResetFaults()
	addFault(t, hc, s, map[string]any{"kind": "error", "status": 503, "retryAfter": 1, "route": "websocket", "count": 1})
	_, resp, err := websocket.DefaultDialer.Dial(s.WSURL()+"/api/v1/streams", nil)
	if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil || resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("dial: %v %+v", err, resp)
	}
	resp.Body.Close()
	login(t, s)
}

func TestFaultRejectsBadDefinitions(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	for _, body := range []map[string]any{
		{"kind": "explode"},
		{"kind": "error", "status": 200},
		{"kind": "latency"},
		{"kind": "latency", "latency": "fast"},
		{"kind": "hang", "latency": "1s"},
		{"kind": "latency", "latency": "1s", "status": 500},
		{"kind": "error", "route": "versions", "stream": "s"},
		{"kind": "error", "route": "nowhere"},
		{"kind": "error", "count": -1},
		{"kind": "error", "retryAfter": -3},
		{"kind": "error", "colour": "red"},
	} {
		a := do(t, hc, s, call{method: "POST", path: "/emulator/faults", body: body})
		if a.status != 400 || a.message() == "" {
			t.Errorf("%v: %d %s, want 400 with a message", body, a.status, a.raw)
		}
	}
	if a := do(t, hc, s, call{method: "DELETE", path: "/emulator/faults/f99"}); a.status != 404 {
		t.Errorf("DELETE unknown fault: %d", a.status)
	}
	if _, err := s.AddFault(Fault{Kind: "error", Status: 99}); !errors.Is(err, ErrBadFault) {
		t.Errorf("AddFault: %v, want ErrBadFault", err)
	}
	if len(s.Faults()) != 0 {
		t.Fatalf("a rejected fault is listed: %+v", s.Faults())
	}
}

func TestFaultsApplyInOrderAdded(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	addFault(t, hc, s, map[string]any{"kind": "error", "status": 502, "count": 1})
	addFault(t, hc, s, map[string]any{"kind": "error", "status": 504, "count": 1})
	for _, want := range []int{502, 504, 200} {
		if a := do(t, hc, s, publishCall("s")); a.status != want {
			t.Fatalf("got %d, want %d", a.status, want)
		}
	}
}

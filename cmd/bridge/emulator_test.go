package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/seabridge/seabridge/internal/testkit/proctest"
)

// TestEmulatorProcessFaults drives /emulator/faults of a `bridge emulator` process the way
// docs/emulator.md shows with curl.
func TestEmulatorProcessFaults(t *testing.T) {
	e := proctest.StartEmulator(t)
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	send := func(method, path, body string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, e.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(proctest.EmulatorClientID, proctest.EmulatorClientSecret)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	if resp := send("POST", "/emulator/faults", `{"kind":"error","status":429,"retryAfter":3,"route":"publish","count":1}`); resp.StatusCode != 201 {
		t.Fatalf("add fault: %s", resp.Status)
	}
	var list struct {
		Faults []struct {
			ID        string `json:"id"`
			Remaining int    `json:"remaining"`
		} `json:"faults"`
	}
	if err := json.NewDecoder(send("GET", "/emulator/faults", "").Body).Decode(&list); err != nil || len(list.Faults) != 1 || list.Faults[0].Remaining != 1 {
		t.Fatalf("GET /emulator/faults: %+v %v", list, err)
	}
	resp := send("POST", "/api/v1/streams/s/publish", `{"payload":{"a":1}}`)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
		t.Fatalf("faulted publish: %s Retry-After %q", resp.Status, resp.Header.Get("Retry-After"))
	}
	if resp := send("POST", "/api/v1/streams/s/publish", `{"payload":{"a":1}}`); resp.StatusCode != 200 {
		t.Fatalf("publish after the fault: %s", resp.Status)
	}
	if resp := send("DELETE", "/emulator/faults", ""); resp.StatusCode != 200 {
		t.Fatalf("reset: %s", resp.Status)
	}
	e.WaitStderr(regexp.MustCompile(`fault injected`), 5*time.Second)
}

// TestEmulatorProcessSendsGoingAwayOnSIGTERM: a websocket client of a `bridge emulator`
// process that is stopped gets a close frame 1001 with a reason, not a dropped connection.
func TestEmulatorProcessSendsGoingAwayOnSIGTERM(t *testing.T) {
	e := proctest.StartEmulator(t)
	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+e.Addr+"/api/v1/streams", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	resp.Body.Close()
	defer ws.Close()
	auth := fmt.Sprintf(`{"id":1,"action":"authenticate","payload":{"type":"basic","clientId":%q,"clientSecret":%q}}`,
		proctest.EmulatorClientID, proctest.EmulatorClientSecret)
	if err := ws.WriteMessage(websocket.TextMessage, []byte(auth)); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, answer, err := ws.ReadMessage(); err != nil || !strings.Contains(string(answer), `"success":true`) {
		t.Fatalf("authenticate: %s %v", answer, err)
	}
	e.Signal(syscall.SIGTERM)
	_, _, err = ws.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway || ce.Text == "" {
		t.Fatalf("read after SIGTERM: %v, want a close frame 1001 with a reason", err)
	}
	if code := e.Wait(15 * time.Second); code != 0 {
		t.Fatalf("emulator exited %d, want 0", code)
	}
}

// TestEmulatorProcessKeepsStateInDataDir defines a schema and creates a client on a
// `bridge emulator --data DIR`, restarts it on the same directory and finds both; a state
// file that is not one is refused with exit code 2 and a message naming it.
func TestEmulatorProcessKeepsStateInDataDir(t *testing.T) {
	dir := t.TempDir()
	e := proctest.StartEmulator(t, "--data", dir)
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	call := func(e *proctest.Emulator, method, path, body string, want int) string {
		t.Helper()
		req, _ := http.NewRequest(method, e.URL+path, strings.NewReader(body))
		req.SetBasicAuth(proctest.EmulatorClientID, proctest.EmulatorClientSecret)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %s %s, want %d", method, path, resp.Status, b.String(), want)
		}
		return b.String()
	}
	call(e, "POST", "/api/v1/streams/boiler/define", `{"version":3,"fields":[{"name":"t","type":"float"}]}`, 200)
	call(e, "POST", "/api/v1/client", `{"clientId":"dave"}`, 200)
	e.Signal(syscall.SIGTERM)
	if code := e.Wait(15 * time.Second); code != 0 {
		t.Fatalf("emulator exited %d", code)
	}
	again := proctest.StartEmulatorAt(t, e.Addr, "--data", dir)
	if body := call(again, "GET", "/api/v1/streams/boiler/schema", "", 200); !strings.Contains(body, `"version":3`) {
		t.Fatalf("schema after the restart: %s", body)
	}
	call(again, "POST", "/api/v1/client", `{"clientId":"dave"}`, 409)
	again.Signal(syscall.SIGTERM)
	again.Wait(15 * time.Second)

	foreign := t.TempDir()
	if err := os.WriteFile(filepath.Join(foreign, "state.json"), []byte(`{"clients":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := proctest.Start(t, proctest.Options{Args: []string{"emulator", "--listen", proctest.FreeAddr(t), "--data", foreign}})
	if code := p.Wait(15 * time.Second); code != 2 {
		t.Fatalf("emulator with a foreign state file exited %d, want 2", code)
	}
	if !strings.Contains(p.Stderr(), "not an emulator state file") || !strings.Contains(p.Stderr(), foreign) {
		t.Fatalf("stderr does not explain the refusal:\n%s", p.Stderr())
	}
}

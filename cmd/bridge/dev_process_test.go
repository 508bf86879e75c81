package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/seabridge/seabridge/internal/testkit/proctest"
)

// devProc is a `bridge dev` process on free ports.
type devProc struct {
	*proctest.Proc
	http, kafka, streamsea string // 127.0.0.1:PORT each
}

// startDev starts `bridge dev` with the environment env and extra flags on free ports and
// waits until it says every pipeline is ready.
func startDev(t *testing.T, env []string, extra ...string) *devProc {
	t.Helper()
	d := &devProc{http: proctest.FreeAddr(t), kafka: proctest.FreeAddr(t), streamsea: proctest.FreeAddr(t)}
	port := func(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }
	args := append([]string{"dev", "--http", d.http, "--kafka-port", port(d.kafka), "--streamsea-port", port(d.streamsea),
		"--progress", "1h"}, extra...)
	d.Proc = proctest.Start(t, proctest.Options{Args: args, Env: env})
	d.WaitStdout(regexp.MustCompile(`every pipeline is ready`), procStart)
	return d
}

// pipelinesReady returns the names of the pipelines /readyz reports ready.
func readyPipelines(t *testing.T, httpAddr string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	code, body, err := proctest.Get(ctx, "http://"+httpAddr+"/readyz")
	if err != nil || (code != 200 && code != 503) { // 503: some pipeline is not ready
		t.Fatalf("/readyz: %d %v\n%s", code, err, body)
	}
	var r struct {
		Checks []struct {
			Name  string `json:"name"`
			Ready bool   `json:"ready"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range r.Checks {
		if name, ok := strings.CutPrefix(c.Name, "pipeline/"); ok && c.Ready {
			out = append(out, name)
		}
	}
	return out
}

// TestDevRunsTheExampleConfig: `bridge dev --config config.example.toml` creates every topic
// the file names in the embedded broker, lists them, and runs both of its pipelines until
// they are ready; a config without credentials gets the emulator's.
func TestDevRunsTheExampleConfig(t *testing.T) {
	example, err := filepath.Abs("../../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	d := startDev(t, nil, "--config", example)
	if got := readyPipelines(t, d.http); strings.Join(got, ",") != "alarms-to-streamsea,boiler-to-kafka" {
		t.Errorf("ready pipelines = %v, want both of config.example.toml", got)
	}
	var status struct {
		Pipelines []struct{ Name, State string }
	}
	if code := getJSON(t, "http://"+d.http+"/pipelines", &status); code != 200 || len(status.Pipelines) != 2 ||
		status.Pipelines[0].State != "running" || status.Pipelines[1].State != "running" {
		t.Errorf("GET /pipelines = %d %+v, want both pipelines running", code, status)
	}
	if code := getStatus(t, "http://"+d.http+"/debug/pprof/"); code != 404 {
		t.Errorf("GET /debug/pprof/ = %d with http.pprof off (the default), want 404", code)
	}
	if !strings.Contains(d.Stdout(), "topics created: alarms, boiler.raw, seabridge.dlq") {
		t.Errorf("the banner does not list the config's topics:\n%s", d.Stdout())
	}
	d.Signal(syscall.SIGTERM)
	if code := d.Wait(procExit); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
}

// TestDevFillsInEmulatorCredentials: a config whose default stream-sea connection has no
// credentials runs in dev with the emulator's; one with its own client id and secret is let in
// with them.
func TestDevFillsInEmulatorCredentials(t *testing.T) {
	pipeline := `
[[pipelines]]
name = "in"
[pipelines.source]
type = "streamsea"
streams = ["s"]
group_id = "` + uuid.NewString() + `"
[pipelines.sink]
type = "kafka"
topic = "t.` + strconv.Itoa(time.Now().Nanosecond()) + `"
[pipelines.dead_letter]
policy = "drop"
`
	for name, conn := range map[string]string{
		"none":    "",
		"own":     "[streamsea.default]\nclient_id = \"acme\"\nclient_secret = \"acme-secret\"\n",
		"id only": "[streamsea.default]\nclient_id = \"acme\"\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := proctest.WriteFile(t, "dev.toml", conn+pipeline)
			d := startDev(t, nil, "--config", path)
			if got := readyPipelines(t, d.http); len(got) != 1 {
				t.Errorf("ready pipelines = %v, want [in]", got)
			}
			d.Signal(syscall.SIGTERM)
			if code := d.Wait(procExit); code != 0 {
				t.Fatalf("exit code %d after SIGTERM, want 0", code)
			}
		})
	}
}

// TestPprofBehindItsSwitch: http.pprof = true (here from the environment) serves the runtime
// profiles.
func TestPprofBehindItsSwitch(t *testing.T) {
	d := startDev(t, []string{"BRIDGE_HTTP__PPROF=true"}, "--rate", "0")
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap?debug=1", "/debug/pprof/goroutine?debug=1"} {
		if code := getStatus(t, "http://"+d.http+path); code != 200 {
			t.Errorf("GET %s = %d with http.pprof = true, want 200", path, code)
		}
	}
}

// getJSON GETs url and decodes its JSON body into v; it returns the status code.
func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	code, body, err := proctest.Get(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v\n%s", url, err, body)
	}
	return code
}

func getStatus(t *testing.T, url string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	code, _, err := proctest.Get(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

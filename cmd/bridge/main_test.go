package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/seabridge/seabridge/internal/streamsea/emulator"
	"github.com/seabridge/seabridge/internal/testkit/emulatortest"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

func TestCommandLine(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		code     int
		contains []string // in stdout+stderr
	}{
		{"no args", nil, 2, []string{"Usage:", "run", "validate", "dev", "tail", "send", "emulator"}},
		{"tail help", []string{"tail", "--help"}, 0, []string{"Usage: bridge tail kafka TOPIC | streamsea STREAM", "-from-beginning", "-group", "-n", "-format", "-config", "-connection"}},
		{"send help", []string{"send", "--help"}, 0, []string{"Usage: bridge send kafka TOPIC | streamsea STREAM", "-file", "-key", "-header", "-records", "-config"}},
		{"validate help", []string{"validate", "--help"}, 0, []string{"Usage: bridge validate", "-connect"}},
		{"help", []string{"help"}, 0, []string{"Commands:"}},
		{"version", []string{"version"}, 0, []string{"seabridge dev"}},
		{"unknown", []string{"frobnicate"}, 2, []string{`unknown command "frobnicate"`}},
		{"run help", []string{"run", "--help"}, 0, []string{"Usage: bridge run", "-config", "shutdown_timeout"}},
		{"dev help", []string{"dev", "--help"}, 0, []string{"kfake", "-kafka-port", "-rate"}},
		{"emulator help", []string{"emulator", "--help"}, 0, []string{"-listen", "-clients", "-ping-interval"}},
		{"bad flag", []string{"validate", "--nope"}, 2, []string{"flag provided but not defined: -nope"}},
		{"stray argument", []string{"validate", "--config", "../../config.example.toml", "extra"}, 2, []string{`unexpected argument "extra"`}},
		{"valid example", []string{"validate", "--config", "../../config.example.toml"}, 0, []string{"valid (2 pipelines, 2 enabled)"}},
		{"invalid config names pipeline and keys", []string{"validate", "--config", "testdata/bad.toml"}, 2, []string{
			`pipelines["boiler"].source.group_id`, `pipelines["boiler"].sink.topik: unknown key`, "testdata/bad.toml"}},
		{"missing file", []string{"validate", "--config", "testdata/none.toml"}, 2, []string{"testdata/none.toml"}},
		{"probe help", []string{"probe", "--help"}, 0, []string{"-url", "healthcheck"}},
		{"bench help", []string{"bench", "--help"}, 0, []string{"-partitions", "-rounds", "-rates", "raw-batched-publisher"}},
		{"bench bad rates", []string{"bench", "--rates", "1000,fast"}, 2, []string{`--rates: "fast" is not a whole number`}},
		{"bench bad scenario", []string{"bench", "--scenarios", "warp"}, 2, []string{`unknown scenario "warp"`}},
		{"bench bad worker job", []string{"bench", "--worker", "{"}, 2, []string{"worker spec"}},
		{"probe refused", []string{"probe", "--url", "http://127.0.0.1:1/livez", "--timeout", "1s"}, 1, []string{"probe http://127.0.0.1:1/livez"}},
		{"print redacts secrets", []string{"validate", "--print", "--config", "../../config.example.toml"}, 0, []string{"[redacted]", "[[pipelines]]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(c.args, nil, &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if code != c.code {
				t.Errorf("exit code = %d, want %d; output:\n%s", code, c.code, out)
			}
			for _, want := range c.contains {
				if !strings.Contains(out, want) {
					t.Errorf("output does not contain %q:\n%s", want, out)
				}
			}
			// The emulator's own help names its development default secret; configs never show theirs.
			if c.args != nil && c.args[0] == "validate" && strings.Contains(out, "bridge-secret") {
				t.Errorf("output shows a secret:\n%s", out)
			}
		})
	}
}

func TestConfigEnvironIgnoresBridgeConfig(t *testing.T) {
	t.Setenv("BRIDGE_CONFIG", "x.toml")
	for _, kv := range configEnviron() {
		if strings.HasPrefix(kv, "BRIDGE_CONFIG=") {
			t.Fatal("BRIDGE_CONFIG must not reach the config loader: it is not a config key")
		}
	}
	if got := defaultConfigPath(); got != "x.toml" {
		t.Fatalf("defaultConfigPath() = %q, want x.toml", got)
	}
}

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestEmulatorCommandServesAndStops(t *testing.T) {
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var stderr bytes.Buffer
	go func() {
		done <- cmdEmulator(ctx, []string{"--listen", "127.0.0.1:" + strconv.Itoa(port), "--log-level", "warn"}, &stderr)
	}()
	url := fmt.Sprintf("http://127.0.0.1:%d/emulator/healthz", port)
	defer func() {
		var out bytes.Buffer
		if code := run([]string{"probe", "--url", url}, nil, &out, &out); code != 1 {
			t.Errorf("probe of a stopped emulator: exit %d, want 1: %s", code, out.String())
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("healthz = %d", resp.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulator did not serve within 5s: %v; stderr: %s", err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var probeOut bytes.Buffer
	if code := run([]string{"probe", "--url", url}, nil, &probeOut, &probeOut); code != 0 || !strings.Contains(probeOut.String(), "200 OK") {
		t.Fatalf("probe of a serving emulator: exit %d: %s", code, probeOut.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("emulator command: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("emulator command did not stop on cancel")
	}
}

// TestDevShowsBothDirectionsFlowing runs `bridge dev` for a few seconds and reads its
// progress lines: both demo pipelines must have written messages and dead-lettered the poison
// ones the load generator sends.
func TestDevShowsBothDirectionsFlowing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole dev environment")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- cmdDev(ctx, []string{"--kafka-port", "0", "--streamsea-port", "0", "--http", "127.0.0.1:0",
			"--rate", "1000", "--progress", "250ms", "--log-level", "warn"}, &stdout, &stderr)
	}()
	outcome := func(name string) *regexp.Regexp {
		return regexp.MustCompile(name + ` \[up\]: in (\d+), out (\d+) \(\d+/s\), dlq (\d+), dropped (\d+), filtered (\d+), nacked (\d+), undelivered (\d+), in flight (\d+)`)
	}
	// last returns the out and dlq counts of the last progress line of a pipeline.
	last := func(re *regexp.Regexp) (out, dlq int) {
		m := re.FindAllStringSubmatch(stdout.String(), -1)
		if len(m) == 0 {
			return 0, 0
		}
		out, _ = strconv.Atoi(m[len(m)-1][2])
		dlq, _ = strconv.Atoi(m[len(m)-1][3])
		return out, dlq
	}
	boiler, alarms := outcome("boiler-to-kafka"), outcome("alarms-to-streamsea")
	deadline := time.Now().Add(20 * time.Second)
	for {
		bOut, bDLQ := last(boiler)
		aOut, aDLQ := last(alarms)
		// The generator sends one poison message in 500 each way.
		if bOut >= 600 && bDLQ >= 1 && aOut >= 600 && aDLQ >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev did not show both directions flowing with dead-lettered poison within 20s\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The load generator starts once the subscription exists: no reading is published to nobody.
	emuURL := regexp.MustCompile(`stream-sea emulator: +(http://\S+)`).FindStringSubmatch(stdout.String())
	if emuURL == nil {
		t.Fatalf("no emulator URL in the banner:\n%s", stdout.String())
	}
	if stats := emulatorStreamStats(t, emuURL[1], "boiler_data"); stats.Published == 0 || stats.Unrouted != 0 {
		t.Errorf("emulator stream boiler_data: published %d, unrouted %d; want every reading routed to the bridge's subscription",
			stats.Published, stats.Unrouted)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("dev: %v\nstderr:\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("dev did not stop within 15s of cancel")
	}
	for _, want := range []string{"kafka (in-process kfake): 127.0.0.1:", "topics created: boiler.readings, seabridge.dlq, vessel.alarms",
		"stream-sea emulator:", "load generator:", "(spool ", "every pipeline is ready"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("dev banner lacks %q", want)
		}
	}
}

// TestValidateConnect checks --connect against live servers: first a config whose topics
// exist and whose credentials are right, then one with a wrong secret and a missing topic.
func TestValidateConnect(t *testing.T) {
	brokers := kafkatest.Brokers(t, kfake.SeedTopics(1, "boiler.raw", "alarms", "seabridge.dlq"))
	emu := emulatortest.Start(t, emulator.Options{})
	dir := t.TempDir()
	write := func(name, secret, topic string) string {
		cfg := strings.NewReplacer("127.0.0.1:9092", brokers[0], "http://127.0.0.1:3104", emu.URL,
			`client_secret = "bridge-secret"`, fmt.Sprintf("client_secret = %q", secret),
			`topic = "boiler.raw"`, fmt.Sprintf("topic = %q", topic)).Replace(readFile(t, "../../config.example.toml"))
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"validate", "--connect", "--config", write("good.toml", emulatortest.ClientSecret, "boiler.raw")}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("good config: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{`ok    kafka["default"]`, `ok    streamsea["default"]`, `stream "alarms": server version none, configured 1`} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("good config output lacks %q:\n%s", want, stdout.String())
		}
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"validate", "--connect", "--timeout", "5s", "--config", write("bad.toml", "wrong-secret", "no.such.topic")}, nil, &stdout, &stderr); code != 1 {
		t.Fatalf("bad config: exit %d, want 1\n%s%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{`FAIL  kafka["default"]`, "no.such.topic", `FAIL  streamsea["default"]`, "2 check(s) failed"} {
		if !strings.Contains(stdout.String()+stderr.String(), want) {
			t.Errorf("bad config output lacks %q:\n%s%s", want, stdout.String(), stderr.String())
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// emulatorStreamStats returns the emulator's /emulator/stats entry of stream (in the default jail).
func emulatorStreamStats(t *testing.T, emuURL, stream string) emulator.StreamStats {
	t.Helper()
	resp, err := http.Get(emuURL + "/emulator/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var stats emulator.Stats
	if err := json.NewDecoder(resp.Body).Decode(&stats); err != nil {
		t.Fatal(err)
	}
	for _, s := range stats.Streams {
		if s.Stream == stream {
			return s
		}
	}
	t.Fatalf("the emulator has no stream %q: %+v", stream, stats)
	return emulator.StreamStats{}
}

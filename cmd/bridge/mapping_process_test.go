package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/seabridge/seabridge/internal/streamsea"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
	"github.com/seabridge/seabridge/internal/testkit/proctest"
)

// mappingConnections is the start of the configs below: the HTTP address, the emulator's URL
// and credentials, and the broker, filled in by startMappingBridge.
const mappingConnections = `
[http]
listen = %q
[streamsea.default]
url = %q
client_id = %q
client_secret = %q
[kafka.default]
brokers = [%q]
`

// mappingConfig is a stream-sea -> Kafka pipeline whose mapping uses every TOML value type in
// static, a pointer projection, a rename and jq.
const mappingConfig = mappingConnections + `
[bridge]
shutdown_timeout = "10s"

[[pipelines]]
name = "boiler-to-kafka"
[pipelines.source]
type = "streamsea"
streams = ["boiler_data"]
group_id = "5b0e6a8e-3c1d-4e4b-9a51-6f0f1c2d7e3a"
[pipelines.mapping]
key = "/id"
include = ["id", "/reading/value", "unit", "units"]
rename = { unit = "units" }
jq = '. + {seen: (.count + 1)}'
[pipelines.mapping.static]
text = "stream-sea"
count = 41
ratio = 0.25
on = true
at = 1979-05-27T07:32:00.5-08:00
local_at = 1979-05-27T07:32:00
day = 1979-05-27
clock = 07:32:00
list = [1, "two", 1979-05-27, { k = 2026-01-02T03:04:05Z }]
[pipelines.mapping.static.nested]
level = 1
[pipelines.sink]
type = "kafka"
topic = "boiler.mapped"
[pipelines.dead_letter]
topic = "seabridge.dlq"
`

// TestRunMapsEveryTOMLTypeWithoutCrashing runs "bridge run" as a process with that mapping
// against an emulator process and kfake: every message comes out mapped, a message the
// mapping cannot apply goes to the dead-letter topic with the reason, and the process keeps
// running until SIGTERM.
func TestRunMapsEveryTOMLTypeWithoutCrashing(t *testing.T) {
	p, brokers, emuURL := startMappingBridge(t, mappingConfig)
	const n = 100
	payloads := make([][]byte, 0, n+1)
	for i := range n {
		payloads = append(payloads, fmt.Appendf(nil, `{"id":%d,"reading":{"value":%d.5,"raw":"x"},"unit":"bar","dropped":true}`, i, i))
	}
	// Renaming unit onto an existing units would lose a value: poison, not a crash.
	payloads = append(payloads, []byte(`{"id":"poison","unit":"bar","units":"psi"}`))
	publishBoilerData(t, emuURL, payloads)

	const static = `"at":"1979-05-27T07:32:00.5-08:00","clock":"07:32:00","count":41,"day":"1979-05-27",`
	const static2 = `"list":[1,"two","1979-05-27",{"k":"2026-01-02T03:04:05Z"}],"local_at":"1979-05-27T07:32:00",` +
		`"nested":{"level":1},"on":true,"ratio":0.25,`
	msgs := kafkatest.ConsumeN(t, brokers, "boiler.mapped", n, 60*time.Second)
	for i, m := range msgs {
		want := fmt.Sprintf(`{%s"id":%d,%s"reading":{"value":%d.5},"seen":42,"text":"stream-sea","units":"bar"}`, static, i, static2, i)
		if string(m.Value) != want || string(m.Key) != fmt.Sprint(i) {
			t.Fatalf("message %d: key %q value\n%s\nwant\n%s", i, m.Key, m.Value, want)
		}
	}
	dlq := kafkatest.ConsumeN(t, brokers, "seabridge.dlq", 1, 30*time.Second)
	if reason := header(dlq[0], "seabridge-error"); !strings.Contains(reason, `rename "unit" to "units": the payload already has "units"`) {
		t.Errorf("dead-letter reason = %q", reason)
	}
	if p.Exited() {
		t.Fatalf("bridge exited while mapping")
	}
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(30 * time.Second); code != 0 {
		t.Fatalf("bridge exited %d after SIGTERM, want 0", code)
	}
	if strings.Contains(p.Stderr(), "panic") {
		t.Errorf("stderr mentions a panic:\n%s", p.Stderr())
	}
	p.WaitStderr(regexp.MustCompile(`boiler-to-kafka`), time.Second)
}

// runawayConfig is a stream-sea -> Kafka pipeline whose jq never ends for a message with
// "loop" and makes a gigabyte of one with "big".
const runawayConfig = mappingConnections + `

[[pipelines]]
name = "runaway"
[pipelines.source]
type = "streamsea"
streams = ["boiler_data"]
group_id = "0c7a4a52-9d0e-4d59-8d1e-3b2f5e6a7c81"
[pipelines.mapping]
jq = 'if .loop then last(repeat(.)) elif .big then {big: ("x" * 1e9)} else . end'
jq_timeout = "200ms"
[pipelines.sink]
type = "kafka"
topic = "boiler.mapped"
[pipelines.dead_letter]
topic = "seabridge.dlq"
`

// TestRunDeadLettersARunawayJQ: a message for which jq never ends, and one for which it would
// make a gigabyte, go to the dead-letter topic with the limit as the reason; the messages
// around them are delivered and the process keeps running.
func TestRunDeadLettersARunawayJQ(t *testing.T) {
	p, brokers, emuURL := startMappingBridge(t, runawayConfig)
	publishBoilerData(t, emuURL, [][]byte{[]byte(`{"id":0}`), []byte(`{"id":"loop","loop":true}`), []byte(`{"id":1}`),
		[]byte(`{"id":"big","big":true}`), []byte(`{"id":2}`)})
	msgs := kafkatest.ConsumeN(t, brokers, "boiler.mapped", 3, 60*time.Second)
	for i, m := range msgs {
		if want := fmt.Sprintf(`{"id":%d}`, i); string(m.Value) != want {
			t.Errorf("message %d: %s, want %s", i, m.Value, want)
		}
	}
	wantReasons := []string{"jq: evaluation took longer than jq_timeout (200ms)",
		"jq: a string repetition would make 1000000000 bytes, more than jq_max_bytes (16777216 bytes)"}
	for i, m := range kafkatest.ConsumeN(t, brokers, "seabridge.dlq", 2, 30*time.Second) {
		if reason := header(m, "seabridge-error"); !strings.Contains(reason, wantReasons[i]) {
			t.Errorf("dead-letter record %d (%s): reason %q, want it to contain %q", i, m.Value, reason, wantReasons[i])
		}
	}
	if p.Exited() {
		t.Fatalf("bridge exited while mapping")
	}
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(30 * time.Second); code != 0 {
		t.Fatalf("bridge exited %d after SIGTERM, want 0", code)
	}
}

// startMappingBridge runs "bridge run" as a process with configFormat (filled in with the
// HTTP address, the emulator's URL and credentials and the broker) against an emulator
// process and kfake, and returns once it is ready.
func startMappingBridge(t *testing.T, configFormat string) (p *proctest.Proc, brokers []string, emulatorURL string) {
	t.Helper()
	brokers = kafkatest.Brokers(t, kfake.SeedTopics(1, "boiler.mapped", "seabridge.dlq"))
	emu := proctest.StartEmulator(t)
	httpAddr := proctest.FreeAddr(t)
	cfg := proctest.WriteFile(t, "bridge.toml", fmt.Sprintf(configFormat, httpAddr, emu.URL,
		proctest.EmulatorClientID, proctest.EmulatorClientSecret, brokers[0]))
	p = proctest.Start(t, proctest.Options{Args: []string{"run", "--config", cfg}})
	proctest.WaitHTTP(t, "http://"+httpAddr+"/readyz", 60*time.Second)
	return p, brokers, emu.URL
}

// publishBoilerData publishes payloads to the emulator's boiler_data stream as one batch.
func publishBoilerData(t *testing.T, emulatorURL string, payloads [][]byte) {
	t.Helper()
	client, err := streamsea.NewClient(streamsea.ClientOptions{BaseURL: emulatorURL,
		ClientID: proctest.EmulatorClientID, ClientSecret: proctest.EmulatorClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := client.PublishBatch(ctx, "boiler_data", payloads); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// header returns the value of m's header key, or "".
func header(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

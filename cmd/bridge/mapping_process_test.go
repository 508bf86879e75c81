package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/seabridge/seabridge/internal/streamsea"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
	"github.com/seabridge/seabridge/internal/testkit/proctest"
)

// mappingConfig is a stream-sea -> Kafka pipeline whose mapping uses every TOML value type in
// static, a pointer projection, a rename and jq.
const mappingConfig = `
[bridge]
shutdown_timeout = "10s"
[http]
listen = %q
[streamsea.default]
url = %q
client_id = %q
client_secret = %q
[kafka.default]
brokers = [%q]

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
	brokers := kafkatest.Brokers(t, kfake.SeedTopics(1, "boiler.mapped", "seabridge.dlq"))
	emu := proctest.StartEmulator(t)
	httpAddr := proctest.FreeAddr(t)
	cfg := proctest.WriteFile(t, "bridge.toml", fmt.Sprintf(mappingConfig, httpAddr, emu.URL,
		proctest.EmulatorClientID, proctest.EmulatorClientSecret, brokers[0]))
	p := proctest.Start(t, proctest.Options{Args: []string{"run", "--config", cfg}})
	proctest.WaitHTTP(t, "http://"+httpAddr+"/readyz", 60*time.Second)

	client, err := streamsea.NewClient(streamsea.ClientOptions{BaseURL: emu.URL,
		ClientID: proctest.EmulatorClientID, ClientSecret: proctest.EmulatorClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	defer client.CloseIdleConnections()
	const n = 100
	payloads := make([][]byte, 0, n+1)
	for i := range n {
		payloads = append(payloads, fmt.Appendf(nil, `{"id":%d,"reading":{"value":%d.5,"raw":"x"},"unit":"bar","dropped":true}`, i, i))
	}
	// Renaming unit onto an existing units would lose a value: poison, not a crash.
	payloads = append(payloads, []byte(`{"id":"poison","unit":"bar","units":"psi"}`))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := client.PublishBatch(ctx, "boiler_data", payloads); err != nil {
		t.Fatalf("publish: %v", err)
	}

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
	reason := ""
	for _, h := range dlq[0].Headers {
		if h.Key == "seabridge-error" {
			reason = string(h.Value)
		}
	}
	if !strings.Contains(reason, `rename "unit" to "units": the payload already has "units"`) {
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

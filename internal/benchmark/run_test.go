package benchmark

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/config"
	"github.com/seabridge/seabridge/internal/testkit/proctest"
)

func TestOptionsValidation(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string // substring of the error; "" means valid
	}{
		{"defaults", Options{Bridge: "bridge"}, ""},
		{"no binary", Options{}, "no bridge binary"},
		{"negative messages", Options{Bridge: "b", Messages: -1}, "must not be negative"},
		{"bad rate", Options{Bridge: "b", Rates: []int{1000, 0}}, "rate 0"},
		{"too few idle pipelines", Options{Bridge: "b", IdlePipelines: 2}, "idle pipelines 2"},
		{"groups and names", Options{Bridge: "b", Scenarios: []string{GroupLatency, RawGroupReader}}, ""},
		{"unknown scenario", Options{Bridge: "b", Scenarios: []string{"warp-drive"}}, `unknown scenario "warp-drive"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.o.withDefaults()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestBridgeConfigsLoadAndFilterOverrides(t *testing.T) {
	cfg := bridgeConfig{listen: "127.0.0.1:1", emulatorURL: "http://127.0.0.1:2", brokers: []string{"127.0.0.1:3"},
		pipelines: []pipelineSpec{
			{name: PipelineKafkaToStreamsea, stream: "out", topic: "in", group: "g"},
			{name: PipelineStreamseaToKafka, toKafka: true, stream: "in", topic: "out"},
		}}
	environ := []string{
		"BRIDGE_PIPELINES__" + PipelineKafkaToStreamsea + "__SINK__VALIDATE=false",
		"BRIDGE_PIPELINES__absent__SINK__TOPIC=x",
		"BRIDGE_STREAMSEA__DEFAULT__GZIP=false",
		"BRIDGE_PIPELINES__BENCH_KAFKA_TO_STREAMSEA__SOURCE__MAX_IN_FLIGHT=30000", // the shell-safe form
	}
	if err := cfg.check(environ[:1]); err != nil {
		t.Errorf("config with an override of its own pipeline: %v", err)
	}
	loaded, err := config.LoadBytes([]byte(cfg.toml()), cfg.environ(environ))
	if err != nil {
		t.Fatalf("config with the overrides that apply: %v", err)
	}
	if got := loaded.Pipelines[0].Source.MaxInFlight; got != 30000 {
		t.Errorf("source.max_in_flight of %s = %d, want 30000 from the shell-safe variable", PipelineKafkaToStreamsea, got)
	}
	got := cfg.environ(environ)
	if want := []string{environ[0], environ[2], environ[3]}; !slices.Equal(got, want) {
		t.Errorf("environ = %v, want %v (the override of a pipeline it lacks dropped)", got, want)
	}
	cfg.pipelines = cfg.pipelines[1:]
	if got, want := cfg.environ(environ), environ[2:3]; !slices.Equal(got, want) {
		t.Errorf("stream-sea -> Kafka only: environ = %v, want %v", got, want)
	}
	if err := cfg.check(environ[:1]); err != nil {
		t.Errorf("an override of a pipeline the config lacks must be left out, not refused: %v", err)
	}
}

// TestRunMeasuresEveryScenario runs every scenario with small loads against the real bridge
// binary and an in-process kfake, and checks that each produced figures.
func TestRunMeasuresEveryScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bridge binary")
	}
	bin := proctest.Binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Options{Bridge: bin, Messages: 3000, Rounds: 1, Rates: []int{400},
		LatencyDuration: 500 * time.Millisecond, IdlePipelines: 4, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	_ = rep.WriteTable(&table)
	if !rep.OK() {
		t.Fatalf("a scenario failed:\n%s", table.String())
	}
	if len(rep.Throughput) != 7 || len(rep.Ratios) != 5 || len(rep.Latency) != 4 || rep.Idle == nil {
		t.Fatalf("report lacks scenarios:\n%s", table.String())
	}
	for _, tp := range rep.Throughput {
		r := tp.Rounds[0]
		if r.Messages != 3000 || r.MsgPerSec <= 0 || r.PeakRSSBytes <= 0 || r.CPUSeconds < 0 {
			t.Errorf("%s: %+v", tp.Scenario, r)
		}
	}
	for _, l := range rep.Latency {
		if l.Received != 200 || l.Latency.Samples != 200 || l.Latency.P50 <= 0 || l.Latency.Max < l.Latency.P999 {
			t.Errorf("%s: %+v", l.Scenario, l)
		}
	}
	if rep.Idle.RSSBytes <= 0 || rep.Idle.BaselineRSSBytes <= 0 {
		t.Errorf("idle memory: %+v", rep.Idle)
	}
	if len(rep.Targets) == 0 {
		t.Error("no targets")
	}
}

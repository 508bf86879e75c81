package benchmark

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestSpreadOf(t *testing.T) {
	for _, tt := range []struct {
		in   []float64
		want Spread
	}{
		{nil, Spread{}},
		{[]float64{5}, Spread{5, 5, 5}},
		{[]float64{9, 1, 5}, Spread{5, 1, 9}},
		{[]float64{4, 1, 3, 2}, Spread{2.5, 1, 4}},
	} {
		if got := spreadOf(tt.in); got != tt.want {
			t.Errorf("spreadOf(%v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestSummarizePercentiles(t *testing.T) {
	samples := make([]int64, 1000)
	for i := range samples {
		samples[len(samples)-1-i] = int64(i+1) * int64(time.Microsecond) // 1000µs..1µs
	}
	got := Summarize(samples)
	want := LatencySummary{Samples: 1000, P50: 500 * time.Microsecond, P99: 990 * time.Microsecond,
		P999: 999 * time.Microsecond, Max: 1000 * time.Microsecond}
	if got != want {
		t.Errorf("Summarize = %+v, want %+v", got, want)
	}
}

// sampleReport is a run in which the bridge met some targets and missed others.
func sampleReport() *Report {
	tp := func(name, dir string, rates ...float64) Throughput {
		t := Throughput{Scenario: name, Direction: dir, Measured: "m"}
		for _, r := range rates {
			t.Rounds = append(t.Rounds, Round{Messages: 1000, MsgPerSec: r, CPUSecondsPerMillion: 2.5, PeakRSSBytes: 40 << 20})
		}
		t.summarize()
		return t
	}
	r := &Report{Machine: Machine{Kafka: "kfake (in the bench process)"}}
	r.Throughput = []Throughput{
		tp(RawGroupReader, KafkaToStreamsea, 400e3, 420e3),
		tp(RawBatchedPublisher, KafkaToStreamsea, 200e3, 100e3),
		tp(BridgeKafkaToStreamsea, KafkaToStreamsea, 170e3, 90e3),
		tp(RawWebsocketReader, StreamseaToKafka, 100e3, 100e3),
		tp(BridgeStreamseaToKafka, StreamseaToKafka, 80e3, 85e3),
	}
	r.Throughput[4].Rounds = append(r.Throughput[4].Rounds, Round{Error: "boom"})
	r.Ratios = ratios(r.Throughput)
	r.Latency = []Latency{
		{Scenario: LatencyKafkaToStreamsea, Direction: KafkaToStreamsea, Rate: 10000, Received: 100, Latency: LatencySummary{P99: 8 * time.Millisecond}},
		{Scenario: LatencyStreamseaToKafka, Direction: StreamseaToKafka, Rate: 10000, Error: "no"},
	}
	r.Idle = &IdleMemory{BaselinePipelines: 2, BaselineRSSBytes: 20 << 20, Pipelines: 100, RSSBytes: 60 << 20, PerPipelineBytes: 40 << 20 / 98}
	r.Targets = targets(r)
	return r
}

func TestRatiosAreRoundByRound(t *testing.T) {
	r := sampleReport()
	got := map[string]Ratio{}
	for _, ra := range r.Ratios {
		got[ra.Bridge+"/"+ra.Limit] = ra
	}
	// 170/200 and 90/100: the median of the per-round ratios, not the ratio of the medians.
	pub := got[BridgeKafkaToStreamsea+"/"+RawBatchedPublisher]
	if len(pub.PerRound) != 2 || pub.Min != 0.85 || pub.Max != 0.9 {
		t.Errorf("ratio to the publisher = %+v, want rounds 0.85 and 0.9", pub)
	}
	// The failed third round of bridge-streamsea-to-kafka has no limit round to pair with.
	if ws := got[BridgeStreamseaToKafka+"/"+RawWebsocketReader]; len(ws.PerRound) != 2 || ws.Median != 0.825 {
		t.Errorf("ratio to the websocket reader = %+v, want 0.8 and 0.85", ws)
	}
	if _, ok := got[BridgeStreamseaToKafka+"/"+RawKafkaProducer]; ok {
		t.Error("a ratio to raw-kafka-producer, which did not run")
	}
}

func TestTargets(t *testing.T) {
	got := map[string]Target{}
	for _, tg := range sampleReport().Targets {
		got[tg.Name] = tg
	}
	for name, want := range map[string]struct{ met, measured bool }{
		"Kafka -> stream-sea throughput (bridge, defaults)":  {false, true}, // median 130k
		"Kafka -> stream-sea CPU (bridge process)":           {true, true},
		"Kafka -> stream-sea / bare batched publisher":       {true, true}, // median 0.875
		"stream-sea -> Kafka / bare websocket reader":        {false, true},
		"Kafka -> stream-sea latency at 10000 msg/s offered": {true, true},
		"stream-sea -> Kafka latency at 10000 msg/s offered": {false, false}, // failed
		"peak RSS at saturation, Kafka -> stream-sea":        {true, true},
		"RSS per idle pipeline":                              {true, true},
		"peak RSS at saturation, stream-sea -> Kafka":        {true, true},
	} {
		tg, ok := got[name]
		if !ok {
			t.Errorf("no target %q", name)
			continue
		}
		if tg.Met != want.met || tg.Measured != want.measured {
			t.Errorf("%s: met %v measured %v (got %q), want met %v measured %v", name, tg.Met, tg.Measured, tg.Got, want.met, want.measured)
		}
	}
}

func TestReportRendering(t *testing.T) {
	r := sampleReport()
	var table bytes.Buffer
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"bridge-kafka-to-streamsea", "130000 [90000-170000]", "bridge-kafka-to-streamsea / raw-batched-publisher",
		"0.88 [0.85-0.90]", "FAILED: no", "100 pipelines: 60.0MiB", "MISSED", "bridge-streamsea-to-kafka round 3: boom",
	} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Throughput) != 5 || back.Throughput[2].MsgPerSec.Median != 130e3 || len(back.Targets) != len(r.Targets) {
		t.Errorf("JSON round trip lost figures: %+v", back.Throughput)
	}
	if r.OK() {
		t.Error("OK() with a failed round and a failed latency scenario")
	}
}

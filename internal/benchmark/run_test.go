package benchmark

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestProbeDoneAtWantAndMergesRecorders(t *testing.T) {
	p := newProbe(4, true, false)
	a, b := p.Recorder(), p.Recorder()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	payload := newPayloadBatch(1, MinSize).fill(1, 0, sent.UnixNano())[0]
	a.Observe(payload, sent.Add(3*time.Millisecond))
	b.Observe(payload, sent.Add(1*time.Millisecond))
	b.Observe([]byte(`{"seq":1}`), sent) // no send time: counted, not sampled
	select {
	case <-p.Done():
		t.Fatal("Done closed after 3 of 4 messages")
	default:
	}
	a.Observe(payload, sent.Add(2*time.Millisecond))
	select {
	case <-p.Done():
	default:
		t.Fatal("Done still open after 4 of 4 messages")
	}
	if err := p.wait(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	r := p.result(scenario{name: "x", latency: true}, nil)
	if !r.OK() || r.Messages != 4 || r.Unstamped != 1 || r.Bytes != int64(3*MinSize+len(`{"seq":1}`)) {
		t.Errorf("result = %+v", r)
	}
	want := LatencySummary{Samples: 3, P50: 2 * time.Millisecond, P95: 3 * time.Millisecond, P99: 3 * time.Millisecond, Max: 3 * time.Millisecond}
	if r.Latency == nil || *r.Latency != want {
		t.Errorf("latency = %+v, want %+v", r.Latency, want)
	}
	if r.Seconds <= 0 || r.MsgPerSec <= 0 {
		t.Errorf("seconds %v, msg/s %v: want > 0", r.Seconds, r.MsgPerSec)
	}
}

func TestProbeWaitReportsIncompleteAndWorkerErrors(t *testing.T) {
	p := newProbe(2, false, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.wait(ctx, nil); !errors.Is(err, ErrIncomplete) {
		t.Errorf("wait on a cancelled ctx = %v, want ErrIncomplete", err)
	}
	boom := errors.New("boom")
	errc := make(chan error, 1)
	errc <- boom
	if err := p.wait(context.Background(), errc); !errors.Is(err, boom) {
		t.Errorf("wait with a worker error = %v, want boom", err)
	}
	if r := p.result(scenario{name: "x"}, boom); r.OK() || r.Error != "boom" {
		t.Errorf("result = %+v, want the error", r)
	}
}

func TestOptionsValidation(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string // substring of the error; "" means valid
	}{
		{"defaults", Options{}, ""},
		{"size below minimum", Options{Size: MinSize - 1}, "below the minimum"},
		{"negative messages", Options{Messages: -1}, "must not be negative"},
		{"unknown scenario", Options{Scenarios: []string{"raw-kafka-producer", "warp-drive"}}, `unknown scenario "warp-drive"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.o.withDefaults()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.want != "" && (!errors.Is(err, ErrBadOptions) || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want ErrBadOptions containing %q", err, tt.want)
			}
		})
	}
	o, _ := Options{Environ: []string{"HOME=/root", "BRIDGE_HTTP__LISTEN=:1"}}.withDefaults()
	if len(o.Environ) != 1 || o.Environ[0] != "BRIDGE_HTTP__LISTEN=:1" {
		t.Errorf("Environ = %v, want only the BRIDGE_ entry", o.Environ)
	}
}

// TestRunEveryScenario runs every scenario on a tiny load against kfake and the emulator:
// each must see every message and report a complete row.
func TestRunEveryScenario(t *testing.T) {
	const n = 300
	var progress bytes.Buffer
	rep, err := Run(context.Background(), Options{
		Messages: n, Size: 128, Batch: 50, BatchTimeout: time.Millisecond, Timeout: 30 * time.Second,
		Progress: &progress, ProgressEvery: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != len(scenarios()) {
		t.Fatalf("%d results, want %d", len(rep.Results), len(scenarios()))
	}
	for i, r := range rep.Results {
		if r.Scenario != scenarios()[i].name {
			t.Errorf("result %d is %q, want %q", i, r.Scenario, scenarios()[i].name)
		}
		if !r.OK() {
			t.Errorf("%s failed: %s", r.Scenario, r.Error)
			continue
		}
		if r.Messages < n || r.Bytes < n*128 || r.Unstamped != 0 {
			t.Errorf("%s: %d messages, %d bytes, %d unstamped; want %d, %d, 0", r.Scenario, r.Messages, r.Bytes, r.Unstamped, n, n*128)
		}
		if r.Seconds <= 0 || r.CPUPerMessage <= 0 || r.PeakRSSBytes <= 0 {
			t.Errorf("%s: seconds %v, CPU/msg %v, peak RSS %d; want all > 0", r.Scenario, r.Seconds, r.CPUPerMessage, r.PeakRSSBytes)
		}
		if scenarios()[i].latency != (r.Latency != nil) {
			t.Errorf("%s: latency %+v, want measured = %v", r.Scenario, r.Latency, scenarios()[i].latency)
		}
		if scenarios()[i].openOnFirst != (r.StartupSeconds > 0) {
			t.Errorf("%s: startup %vs, want reported = %v", r.Scenario, r.StartupSeconds, scenarios()[i].openOnFirst)
		}
		if r.Latency != nil && (r.Latency.Samples < n || r.Latency.P50 <= 0 || r.Latency.Max < r.Latency.P99) {
			t.Errorf("%s: latency %+v", r.Scenario, r.Latency)
		}
	}
	if !strings.Contains(progress.String(), "bridge-kafka-to-streamsea: done") {
		t.Errorf("progress lacks the last scenario's done line:\n%s", progress.String())
	}
	checkRendering(t, rep)
}

func checkRendering(t *testing.T, rep *Report) {
	t.Helper()
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range append(scenarioNames(), "GOMAXPROCS", "kfake (in process)", "% of raw-kafka-producer", "bridge-kafka-to-streamsea startup:") {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("JSON does not decode: %v", err)
	}
	if len(back.Results) != len(rep.Results) || back.Results[0].MsgPerSec != rep.Results[0].MsgPerSec {
		t.Errorf("JSON round trip lost results: %+v", back.Results)
	}
}

// TestRunTimeoutFailsCleanly gives every scenario less time than setting up takes: each must
// report a failure, not hang.
func TestRunTimeoutFailsCleanly(t *testing.T) {
	rep, err := Run(context.Background(), Options{Messages: 10, Timeout: time.Nanosecond,
		Scenarios: []string{RawKafkaProducer, BridgeStreamseaToKafka}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 2 || rep.OK() {
		t.Fatalf("results %+v, want two failures", rep.Results)
	}
	for _, r := range rep.Results {
		if r.OK() || r.Error == "" {
			t.Errorf("%s: %+v, want a failure with a reason", r.Scenario, r)
		}
	}
}

//go:build reliability

package reliability

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/testkit/reliability"
)

// EnvSoakDuration overrides the soak's length (a Go duration); default 30m, 3m with -short.
const EnvSoakDuration = "SEABRIDGE_SOAK_DURATION"

// TestSoak runs one bridge with a pipeline each way for the soak's duration, with a fault
// every tenth of it, and judges its RSS, goroutine count and open file descriptors flat
// (reliability.JudgeSoak).
// Every numbered message of both directions is accounted for, as in the other scenarios.
// The full soak uses Apache Kafka (and can cut it); the short one kfake.
func TestSoak(t *testing.T) {
	d := time.Duration(suite.Scale(int(30*time.Minute), int(3*time.Minute)))
	if v := os.Getenv(EnvSoakDuration); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d < time.Minute {
			t.Fatalf("%s=%q: want a Go duration of at least 1m", EnvSoakDuration, v)
		}
	}
	rate := suite.Scale(300, 150)
	n := rate * int(d.Seconds())
	name := fmt.Sprintf("soak %v", d)
	k2s := suite.Begin(t, reliability.Setup{Name: name, Direction: reliability.KafkaToStreamsea, RealKafka: !suite.Short,
		Rate: rate, Messages: n})
	s2k := suite.Begin(t, reliability.Setup{Name: name, Direction: reliability.StreamseaToKafka, Emulator: k2s.Emulator,
		Kafka: k2s.Kafka, Rate: rate, Messages: n, AllowTransit: true})
	cfg := k2s.Config()
	cfg.Set("pipelines", []map[string]any{k2s.PipelineConfig(), s2k.PipelineConfig()})
	b := k2s.StartBridge(cfg)
	s2k.Adopt(b)
	start := time.Now()
	k2s.Publish()
	s2k.Publish()

	faults := soakFaults(t, k2s)
	every := d / 10
	var done []string
	for i := 1; i < 10; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * every)))
		f := faults[(i-1)%len(faults)]
		k2s.Hold(f.name, f.hold, f.start, f.heal)
		s2k.HealedFrom(f.name)
		done = append(done, f.name)
	}
	k2s.Finish()
	s2k.Finish()
	r := reliability.JudgeSoak(b.Samples(), start, d, done)
	suite.AddSoak(r)
	if !r.Flat() {
		t.Errorf("soak: RSS flat %v (%s), goroutines flat %v (%s), open fds flat %v (%s)", r.RSS.Flat, r.RSS.Why,
			r.Goroutines.Flat, r.Goroutines.Why, r.OpenFDs.Flat, r.OpenFDs.Why)
	}
}

type soakFault struct {
	name        string
	hold        time.Duration
	start, heal func()
}

// soakFaults are the faults the soak cycles through: every fault of the scenarios that
// leaves the bridge process running.
func soakFaults(t *testing.T, sc *reliability.Scenario) []soakFault {
	heal := func(h func() error) func() {
		return func() {
			if err := h(); err != nil {
				t.Error(err)
			}
		}
	}
	ss := sc.Emulator.Proxy
	faults := []soakFault{
		{"stream-sea cut 10 s", 10 * time.Second, ss.Cut, heal(ss.Heal)},
		{"stream-sea 500 for 10 s", 10 * time.Second, func() {
			sc.Emulator.AddFault(reliability.Fault{Kind: "error", Status: 500, Route: "publish"})
		}, sc.Emulator.ClearFaults},
		{"websocket reset", 0, func() { ss.ResetConnections() }, func() {}},
		{"stream-sea 2 s slow for 10 s", 10 * time.Second, func() {
			sc.Emulator.AddFault(reliability.Fault{Kind: "latency", Latency: "2s", Route: "publish"})
		}, sc.Emulator.ClearFaults},
		{"stream-sea blackholed 10 s", 10 * time.Second, func() {
			if err := ss.Blackhole(); err != nil {
				t.Error(err)
			}
		}, heal(ss.Heal)},
	}
	if kp := sc.Kafka.Proxy; kp != nil {
		faults = append(faults, soakFault{"Kafka cut 10 s", 10 * time.Second, kp.Cut, heal(kp.Heal)})
	}
	return faults
}

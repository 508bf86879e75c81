package benchmark

import (
	"context"
	"fmt"
	"runtime"
	"time"
)

// Run runs the selected scenarios and returns their results with the machine facts: the
// throughput scenarios in o.Rounds interleaved rounds (each round runs every selected one once,
// so that a noisy minute weighs on all of them alike), then the latency scenarios at each
// offered rate, then the idle-memory scenario. A scenario that fails or times out is reported
// in the Report and the next one still runs; Run itself fails only on bad options or when the
// Kafka target cannot be started.
func Run(ctx context.Context, o Options) (*Report, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	rep := &Report{Machine: machineFacts(o), Settings: settingsOf(o), Started: time.Now().UTC()}
	k, err := startKafka(o.Kafka)
	if err != nil {
		return nil, err
	}
	defer k.close()
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	err = k.warmUp(wctx)
	cancel()
	if err != nil {
		return nil, err
	}
	env := &runEnv{o: o, k: k}
	rep.Throughput = runThroughput(ctx, env)
	if env.prefilled != "" {
		k.deleteTopic(ctx, env.prefilled)
	}
	rep.Ratios = ratios(rep.Throughput)
	for _, sc := range latencyScenarios() {
		if !o.selected(sc.name, GroupLatency) {
			continue
		}
		for _, rate := range o.Rates {
			rep.Latency = append(rep.Latency, runLatencyBounded(ctx, env, sc, rate))
		}
	}
	if o.selected(IdlePipelines, GroupMemory) {
		fmt.Fprintf(o.Progress, "bench: %s: 2 and %d idle pipelines\n", IdlePipelines, o.IdlePipelines)
		sctx, cancel := context.WithTimeout(ctx, o.Timeout)
		rep.Idle = runIdle(sctx, env)
		cancel()
		progressIdle(o, rep.Idle)
	}
	rep.Targets = targets(rep)
	rep.Machine.LoadAverageEnd = loadAverage()
	rep.Finished = time.Now().UTC()
	return rep, nil
}

func runThroughput(ctx context.Context, env *runEnv) []Throughput {
	o := env.o
	var scs []throughputScenario
	for _, sc := range throughputScenarios() {
		if o.selected(sc.name, GroupThroughput) {
			scs = append(scs, sc)
		}
	}
	if len(scs) == 0 {
		return nil
	}
	out := make([]Throughput, len(scs))
	for i, sc := range scs {
		out[i] = Throughput{Scenario: sc.name, Direction: sc.direction, Measured: sc.measured}
	}
	for round := 1; round <= o.Rounds; round++ {
		for i, sc := range scs {
			runtime.GC() // start each scenario without the previous one's garbage in the bench process
			fmt.Fprintf(o.Progress, "bench: round %d/%d: %s: %d messages...\n", round, o.Rounds, sc.name, o.Messages)
			sctx, cancel := context.WithTimeout(ctx, o.Timeout)
			stop := startProgress(sctx, o, sc.name)
			r := sc.run(sctx, env)
			stop()
			cancel()
			if ctx.Err() != nil && r.OK() {
				r = failed(ctx.Err())
			}
			progressRound(o, round, sc.name, r)
			out[i].Rounds = append(out[i].Rounds, r)
		}
	}
	for i := range out {
		out[i].summarize()
	}
	return out
}

// summarize fills the spreads from the rounds that completed.
func (t *Throughput) summarize() {
	var rate, cpu, rss []float64
	for _, r := range t.Rounds {
		if r.OK() {
			rate = append(rate, r.MsgPerSec)
			cpu = append(cpu, r.CPUSecondsPerMillion)
			rss = append(rss, float64(r.PeakRSSBytes))
		}
	}
	t.MsgPerSec, t.CPUSecondsPerMillion, t.PeakRSSBytes = spreadOf(rate), spreadOf(cpu), spreadOf(rss)
}

// ratioPairs are the bridge figures and the raw limits they are compared with.
var ratioPairs = [][2]string{
	{BridgeKafkaToStreamsea, RawBatchedPublisher},
	{BridgeKafkaToStreamsea, RawGroupReader},
	{BridgeStreamseaToKafka, RawWebsocketReader},
	{BridgeStreamseaToKafka, RawKafkaProducer},
	{BridgeStreamseaToKafkaSpool, BridgeStreamseaToKafka},
}

// ratios compares msg/s round by round, for every pair whose both sides ran.
func ratios(ts []Throughput) []Ratio {
	find := func(name string) *Throughput {
		for i := range ts {
			if ts[i].Scenario == name {
				return &ts[i]
			}
		}
		return nil
	}
	var out []Ratio
	for _, p := range ratioPairs {
		b, l := find(p[0]), find(p[1])
		if b == nil || l == nil {
			continue
		}
		r := Ratio{Bridge: p[0], Limit: p[1]}
		for i := range min(len(b.Rounds), len(l.Rounds)) {
			if b.Rounds[i].OK() && l.Rounds[i].OK() && l.Rounds[i].MsgPerSec > 0 {
				r.PerRound = append(r.PerRound, b.Rounds[i].MsgPerSec/l.Rounds[i].MsgPerSec)
			}
		}
		r.Spread = spreadOf(r.PerRound)
		out = append(out, r)
	}
	return out
}

func runLatencyBounded(ctx context.Context, env *runEnv, sc latencyScenario, rate int) Latency {
	o := env.o
	name := sc.name
	fmt.Fprintf(o.Progress, "bench: %s: %d msg/s offered for %v...\n", name, rate, o.LatencyDuration)
	sctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	l := runLatency(sctx, env, sc, rate)
	if l.Error != "" {
		fmt.Fprintf(o.Progress, "bench: %s at %d msg/s: FAILED after %d of %d: %s\n", name, rate, l.Received, l.Sent, l.Error)
	} else {
		fmt.Fprintf(o.Progress, "bench: %s at %d msg/s: p50 %s p99 %s p999 %s max %s\n", name, rate,
			fmtDur(l.Latency.P50), fmtDur(l.Latency.P99), fmtDur(l.Latency.P999), fmtDur(l.Latency.Max))
	}
	return l
}

func progressRound(o Options, round int, name string, r Round) {
	if !r.OK() {
		fmt.Fprintf(o.Progress, "bench: round %d: %s: FAILED: %s\n", round, name, r.Error)
		return
	}
	fmt.Fprintf(o.Progress, "bench: round %d: %s: %.0f msg/s, %.2f CPU-s per million, peak RSS %s (startup %.2fs)\n",
		round, name, r.MsgPerSec, r.CPUSecondsPerMillion, fmtBytes(r.PeakRSSBytes), r.StartupSeconds)
}

func progressIdle(o Options, m *IdleMemory) {
	if m.Error != "" {
		fmt.Fprintf(o.Progress, "bench: %s: FAILED: %s\n", IdlePipelines, m.Error)
		return
	}
	fmt.Fprintf(o.Progress, "bench: %s: RSS %s with %d pipelines, %s with %d: %.0f KiB per pipeline\n", IdlePipelines,
		fmtBytes(m.BaselineRSSBytes), m.BaselinePipelines, fmtBytes(m.RSSBytes), m.Pipelines, m.PerPipelineBytes/1024)
}

// startProgress prints a line every o.ProgressEvery until the returned func is called or ctx
// ends; the func waits for the printing goroutine to return.
func startProgress(ctx context.Context, o Options, name string) func() {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(o.ProgressEvery)
		defer t.Stop()
		began := time.Now()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				fmt.Fprintf(o.Progress, "bench: %s: running for %s\n", name, time.Since(began).Round(time.Second))
			}
		}
	}()
	return func() {
		close(stop)
		<-done
	}
}

func scenarioNames() []string {
	var names []string
	for _, sc := range throughputScenarios() {
		names = append(names, sc.name)
	}
	for _, sc := range latencyScenarios() {
		names = append(names, sc.name)
	}
	return append(names, IdlePipelines)
}

package benchmark

import (
	"context"
	"fmt"
	"time"
)

// IdlePipelines is the idle-memory scenario's name.
const IdlePipelines = "idle-pipelines"

// idleSettle is how long an idle bridge runs after it is ready before its RSS is read, so
// that startup garbage has been collected.
const idleSettle = 3 * time.Second

// runIdle measures the resident memory of a bridge with two idle pipelines (one each way) and
// with o.IdlePipelines (half each way), and the cost of one more pipeline.
func runIdle(ctx context.Context, env *runEnv) *IdleMemory {
	m := &IdleMemory{BaselinePipelines: 2, Pipelines: env.o.IdlePipelines / 2 * 2}
	topic, drop, err := env.freshTopic(ctx, "idle")
	if err != nil {
		m.Error = err.Error()
		return m
	}
	defer drop()
	if m.BaselineRSSBytes, err = idleRSS(ctx, env, topic, m.BaselinePipelines); err == nil {
		m.RSSBytes, err = idleRSS(ctx, env, topic, m.Pipelines)
	}
	if err != nil {
		m.Error = err.Error()
		return m
	}
	m.PerPipelineBytes = float64(m.RSSBytes-m.BaselineRSSBytes) / float64(m.Pipelines-m.BaselinePipelines)
	return m
}

// idleRSS runs a bridge with n idle pipelines, half each way, and returns its RSS once every
// pipeline is ready and idleSettle has passed.
func idleRSS(ctx context.Context, env *runEnv, topic string, n int) (rss int64, err error) {
	emu, err := startEmulator(env.o.Logger)
	if err != nil {
		return 0, err
	}
	defer emu.Close()
	cfg := bridgeConfig{emulatorURL: emu.URL(), brokers: env.k.brokers}
	group := uniqueName("seabridge-bench-idle")
	const inStream, outStream = "bench_idle_in", "bench_idle_out"
	for i := range n / 2 {
		cfg.pipelines = append(cfg.pipelines,
			pipelineSpec{name: fmt.Sprintf("idle-to-kafka-%03d", i), toKafka: true, stream: inStream, topic: topic},
			pipelineSpec{name: fmt.Sprintf("idle-to-streamsea-%03d", i), stream: outStream, topic: topic, group: fmt.Sprintf("%s-%03d", group, i)})
	}
	b, err := startBridge(env.o, cfg)
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := b.stop(15 * time.Second); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if err := b.waitReady(ctx); err != nil {
		return 0, err
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !subscribed(emu, inStream, n/2) {
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("waiting for %d subscriptions: %w", n/2, ctx.Err())
		case <-b.exited:
			return 0, fmt.Errorf("the bridge exited: %s", b.stderr.String())
		case <-tick.C:
		}
	}
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-b.exited:
		return 0, fmt.Errorf("the bridge exited: %s", b.stderr.String())
	case <-time.After(idleSettle):
	}
	s, err := b.sample()
	if err != nil {
		return 0, err
	}
	return s.rss, nil
}

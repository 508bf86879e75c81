package benchmark

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/seabridge/seabridge/internal/bridge"
	"github.com/seabridge/seabridge/internal/streamsea/emulator"
)

// Scenario names, in the order Run runs them.
const (
	RawKafkaProducer       = "raw-kafka-producer"
	RawWebsocketReader     = "raw-websocket-reader"
	BridgeStreamseaToKafka = "bridge-streamsea-to-kafka"
	BridgeKafkaToStreamsea = "bridge-kafka-to-streamsea"
)

// scenario is one measurement. run sets everything up, calls p.Start when the measured window
// begins, waits with p.wait and tears everything down before it returns.
type scenario struct {
	name     string
	includes string // what runs in the process during the window
	latency  bool   // whether end-to-end latency is measured
	// openOnFirst opens the window at the first message the final reader sees, so that the
	// bridge's startup (consumer group join) is reported apart from its throughput.
	openOnFirst bool
	run         func(ctx context.Context, o Options, p *Probe) error
}

func scenarios() []scenario {
	return []scenario{
		{name: RawKafkaProducer, includes: "kafka-go Writer (acks=all, sink batch settings) + Kafka broker + consumer",
			latency: true, run: runRawProducer},
		{name: RawWebsocketReader, includes: "REST publisher + emulator + bare websocket reader",
			latency: true, run: runRawReader},
		{name: BridgeStreamseaToKafka, includes: "REST publisher + emulator + bridge + Kafka broker + consumer",
			latency: true, run: runStreamseaToKafka},
		{name: BridgeKafkaToStreamsea, includes: "Kafka broker (N pre-produced) + bridge + emulator + bare websocket reader",
			openOnFirst: true, run: runKafkaToStreamsea},
	}
}

func scenarioNames() []string {
	var names []string
	for _, s := range scenarios() {
		names = append(names, s.name)
	}
	return names
}

// workers runs a scenario's load generators and reports their first error.
type workers struct {
	wg   sync.WaitGroup
	errc chan error
}

func newWorkers() *workers { return &workers{errc: make(chan error, 8)} }

func (w *workers) goRun(f func() error) {
	w.wg.Go(func() {
		if err := f(); err != nil {
			report(w.errc, err)
		}
	})
}

// uniqueName gives topics and groups of one run distinct names, so that runs against the same
// external brokers do not see each other's messages.
func uniqueName(prefix string) string {
	return prefix + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
}

// kafkaWithTopic starts the Kafka target and creates a fresh topic on it; cleanup deletes the
// topic and stops the target.
func kafkaWithTopic(ctx context.Context, o Options, prefix string) (*kafkaTarget, string, func(), error) {
	k, err := startKafka(o.Kafka)
	if err != nil {
		return nil, "", nil, err
	}
	topic := uniqueName("seabridge-bench-" + prefix)
	if err := k.createTopic(ctx, topic, o.Partitions); err != nil {
		k.close()
		return nil, "", nil, err
	}
	cleanup := func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		k.deleteTopic(dctx, topic)
		k.close()
	}
	return k, topic, cleanup, nil
}

func runRawProducer(ctx context.Context, o Options, p *Probe) error {
	k, topic, cleanup, err := kafkaWithTopic(ctx, o, "raw")
	if err != nil {
		return err
	}
	defer cleanup()
	ctx, cancel := context.WithCancel(ctx)
	w := newWorkers()
	c := startConsumer(ctx, k, topic, o.Partitions, p, w.errc)
	writer := k.writer(topic, o.BatchTimeout)
	defer func() {
		cancel()
		w.wg.Wait()
		c.stop()
		_ = writer.Close()
	}()
	if err := p.Start(); err != nil {
		return err
	}
	w.goRun(func() error { return produce(ctx, writer, o.Messages, o.Size, o.Batch) })
	return p.wait(ctx, w.errc)
}

func runRawReader(ctx context.Context, o Options, p *Probe) error {
	emu, err := startEmulator(o.Logger)
	if err != nil {
		return err
	}
	defer emu.Close()
	pub, err := newPublisher(emu)
	if err != nil {
		return err
	}
	defer pub.CloseIdleConnections()
	ctx, cancel := context.WithCancel(ctx)
	w := newWorkers()
	r, err := startReader(ctx, emu, "bench_raw", p, w.errc, o.Logger)
	if err != nil {
		cancel()
		return err
	}
	defer func() {
		cancel()
		w.wg.Wait()
		r.stop()
	}()
	if err := p.Start(); err != nil {
		return err
	}
	w.goRun(func() error { return publish(ctx, pub, "bench_raw", o.Messages, o.Size, o.Batch) })
	return p.wait(ctx, w.errc)
}

func runStreamseaToKafka(ctx context.Context, o Options, p *Probe) error {
	k, topic, cleanup, err := kafkaWithTopic(ctx, o, "to-kafka")
	if err != nil {
		return err
	}
	defer cleanup()
	emu, err := startEmulator(o.Logger)
	if err != nil {
		return err
	}
	defer emu.Close()
	pub, err := newPublisher(emu)
	if err != nil {
		return err
	}
	defer pub.CloseIdleConnections()
	const stream = "bench_in"
	cfg, err := bridgeConfig{emulatorURL: emu.URL(), brokers: k.brokers, stream: stream, topic: topic, toKafka: true}.load(o)
	if err != nil {
		return err
	}
	app, err := bridge.New(cfg, "bench", o.Logger)
	if err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	w := newWorkers()
	c := startConsumer(ctx, k, topic, o.Partitions, p, w.errc)
	w.goRun(func() error { return appRun(ctx, app) })
	defer func() {
		cancel()
		w.wg.Wait()
		c.stop()
	}()
	if err := waitReady(ctx, app, emu, stream, w.errc); err != nil {
		return err
	}
	if err := p.Start(); err != nil {
		return err
	}
	w.goRun(func() error { return publish(ctx, pub, stream, o.Messages, o.Size, o.Batch) })
	return p.wait(ctx, w.errc)
}

func runKafkaToStreamsea(ctx context.Context, o Options, p *Probe) error {
	k, topic, cleanup, err := kafkaWithTopic(ctx, o, "to-streamsea")
	if err != nil {
		return err
	}
	defer cleanup()
	prefill := k.writer(topic, time.Millisecond)
	err = produce(ctx, prefill, o.Messages, o.Size, o.Batch)
	_ = prefill.Close()
	if err != nil {
		return fmt.Errorf("pre-produce: %w", err)
	}
	emu, err := startEmulator(o.Logger)
	if err != nil {
		return err
	}
	defer emu.Close()
	const stream = "bench_out"
	cfg, err := bridgeConfig{emulatorURL: emu.URL(), brokers: k.brokers, stream: stream, topic: topic,
		group: uniqueName("seabridge-bench")}.load(o)
	if err != nil {
		return err
	}
	app, err := bridge.New(cfg, "bench", o.Logger)
	if err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	w := newWorkers()
	r, err := startReader(ctx, emu, stream, p, w.errc, o.Logger)
	if err != nil {
		cancel()
		return err
	}
	defer func() {
		cancel()
		w.wg.Wait()
		r.stop()
	}()
	p.arm()
	w.goRun(func() error { return appRun(ctx, app) })
	return p.wait(ctx, w.errc)
}

// errStoppedEarly means the bridge returned while its scenario was still waiting for messages.
var errStoppedEarly = errors.New("the bridge stopped before every message arrived")

// appRun runs the bridge until ctx ends; a return before that is a failure.
func appRun(ctx context.Context, app *bridge.App) error {
	err := app.Run(ctx)
	switch {
	case ctx.Err() != nil:
		return nil
	case err != nil:
		return fmt.Errorf("bridge: %w", err)
	default:
		return errStoppedEarly
	}
}

// waitReady waits until the bridge's pipeline is connected and its subscription to stream is
// live on the emulator, so that nothing published is lost to an absent subscriber.
func waitReady(ctx context.Context, app *bridge.App, emu *emulator.Server, stream string, errc <-chan error) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if ready(app, emu, stream) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the bridge to connect: %w", ctx.Err())
		case err := <-errc:
			return err
		case <-tick.C:
		}
	}
}

func ready(app *bridge.App, emu *emulator.Server, stream string) bool {
	for _, s := range app.Stats() {
		if !s.Ready {
			return false
		}
	}
	for _, s := range emu.Stats().Streams {
		if s.Stream == stream && s.Subscriptions > 0 {
			return true
		}
	}
	return false
}

package benchmark

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/seabridge/seabridge/internal/config"
	"github.com/seabridge/seabridge/internal/streamsea/emulator"
)

// Throughput scenario names, in the order a round runs them: each direction's raw limits,
// then the bridge in that direction.
const (
	RawGroupReader         = "raw-group-reader"
	RawBatchedPublisher    = "raw-batched-publisher"
	BridgeKafkaToStreamsea = "bridge-kafka-to-streamsea"
	RawWebsocketReader     = "raw-websocket-reader"
	RawKafkaProducer       = "raw-kafka-producer"
	BridgeStreamseaToKafka = "bridge-streamsea-to-kafka"
	// BridgeStreamseaToKafkaSpool is the same with [pipelines.spool] (fsync = "interval").
	BridgeStreamseaToKafkaSpool = "bridge-streamsea-to-kafka-spool"
)

// throughputScenario is one process measured at saturation.
type throughputScenario struct {
	name      string
	direction string
	measured  string
	run       func(ctx context.Context, env *runEnv) Round
}

func throughputScenarios() []throughputScenario {
	return []throughputScenario{
		{RawGroupReader, KafkaToStreamsea, "bare kafka-go group reader (FetchMessage, CommitMessages every 1s) on the pre-produced topic", runGroupReader},
		{RawBatchedPublisher, KafkaToStreamsea, "bare publisher: PublishBatch of --batch, --in-flight at once, gzip as the bridge's default", runBatchedPublisher},
		{BridgeKafkaToStreamsea, KafkaToStreamsea, "bridge run: Kafka topic -> stream-sea, defaults (schema ensured, validate, gzip)", runBridgeKafkaToStreamsea},
		{RawWebsocketReader, StreamseaToKafka, "bare websocket reader (envelope decoded, payload kept raw)", runWebsocketReader},
		{RawKafkaProducer, StreamseaToKafka, "bare kafka-go Writer with the Kafka sink's defaults, synchronous batches of --batch", runKafkaProducer},
		{BridgeStreamseaToKafka, StreamseaToKafka, "bridge run: stream-sea -> Kafka topic, defaults", runBridgeStreamseaToKafka},
		{BridgeStreamseaToKafkaSpool, StreamseaToKafka, "bridge run: stream-sea -> Kafka topic, defaults and a spool (fsync interval)", runBridgeStreamseaToKafkaSpool},
	}
}

// runEnv is what the scenarios of one run share: the options and the Kafka target.
type runEnv struct {
	o         Options
	k         *kafkaTarget
	prefilled string // topic holding o.Messages payloads, made by the first scenario needing it
}

// prefilledTopic returns the topic holding o.Messages payloads, producing it the first time.
// The consumer scenarios read it with fresh consumer groups.
func (e *runEnv) prefilledTopic(ctx context.Context) (string, error) {
	if e.prefilled != "" {
		return e.prefilled, nil
	}
	topic := uniqueName("seabridge-bench-prefilled")
	if err := e.k.createTopic(ctx, topic, e.o.Partitions); err != nil {
		return "", err
	}
	started := time.Now()
	fmt.Fprintf(e.o.Progress, "bench: producing %d messages into %s (%d partitions)...\n", e.o.Messages, topic, e.o.Partitions)
	if err := e.k.prefill(ctx, topic, e.o.Messages); err != nil {
		e.k.deleteTopic(ctx, topic)
		return "", err
	}
	fmt.Fprintf(e.o.Progress, "bench: produced in %.1fs\n", time.Since(started).Seconds())
	e.prefilled = topic
	return topic, nil
}

// freshTopic creates a topic for one scenario; the returned func deletes it.
func (e *runEnv) freshTopic(ctx context.Context, prefix string) (string, func(), error) {
	topic := uniqueName("seabridge-bench-" + prefix)
	if err := e.k.createTopic(ctx, topic, e.o.Partitions); err != nil {
		return "", nil, err
	}
	return topic, func() { e.k.deleteTopic(ctx, topic) }, nil
}

// uniqueName gives topics, streams and groups of one run distinct names, so that runs against
// the same external brokers do not see each other's messages.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%x", prefix, time.Now().UnixNano())
}

// startWorker starts a raw client as its own process: the bridge binary's bench --worker.
func startWorker(o Options, spec WorkerSpec) (*proc, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	return startProc("worker "+spec.Role, o.Bridge, []string{"bench", "--worker", string(b)}, withoutBridgeVars(os.Environ()))
}

// nextEvent reads the worker's stdout until the event want, an error event, its exit, or ctx.
func nextEvent(ctx context.Context, p *proc, want string) (workerEvent, error) {
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				return workerEvent{}, fmt.Errorf("%w: %s exited before %q: %s", ErrIncomplete, p.name, want, p.stderr.String())
			}
			var e workerEvent
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				continue // not an event: a stray line
			}
			if e.Event == "error" {
				return e, fmt.Errorf("%s: %s", p.name, e.Error)
			}
			if e.Event == want {
				return e, nil
			}
		case <-ctx.Done():
			return workerEvent{}, fmt.Errorf("%w: waiting for %s to report %q: %w", ErrIncomplete, p.name, want, ctx.Err())
		}
	}
}

// measureArrivals samples p when the first and the last wanted message reach a.
func measureArrivals(ctx context.Context, p *proc, a *arrivals, errc <-chan error) (start, end procSample, err error) {
	if err = waitFor(ctx, a.first, "the first message", errc, p.exited); err != nil {
		return
	}
	if start, err = p.sample(); err != nil {
		return
	}
	if err = waitFor(ctx, a.done, "the last message", errc, p.exited); err != nil {
		return
	}
	end, err = p.sample()
	return
}

// round turns a window of n messages into a Round.
func round(n int64, window time.Duration, start, end procSample, startedAt time.Time, firstAt time.Time) Round {
	r := Round{Messages: n, Seconds: window.Seconds(), PeakRSSBytes: end.hwm, StartupSeconds: firstAt.Sub(startedAt).Seconds()}
	if r.Seconds > 0 {
		r.MsgPerSec = float64(n) / r.Seconds
	}
	r.CPUSeconds = (end.cpu - start.cpu).Seconds()
	r.CPUSecondsPerMillion = r.CPUSeconds / float64(n) * 1e6
	return r
}

func failed(err error) Round { return Round{Error: err.Error()} }

// withProc runs measure on a started process p and then stops it; a failure to stop turns a
// completed round into a failed one.
func withProc(p interface{ stop(time.Duration) error }, startErr error, measure func(startedAt time.Time) Round) Round {
	if startErr != nil {
		return failed(startErr)
	}
	r := measure(time.Now())
	if err := p.stop(15 * time.Second); err != nil && r.OK() {
		r = failed(err)
	}
	return r
}

// measureWorkerReader measures a worker that is its own final reader, from its first and done
// events.
func measureWorkerReader(ctx context.Context, w *proc, startedAt time.Time) Round {
	first, err := nextEvent(ctx, w, "first")
	if err != nil {
		return failed(err)
	}
	s0, err := w.sample()
	if err != nil {
		return failed(err)
	}
	done, err := nextEvent(ctx, w, "done")
	if err != nil {
		return failed(err)
	}
	s1, err := w.sample()
	if err != nil {
		return failed(err)
	}
	return round(done.Messages, time.Duration(done.At-first.At), s0, s1, startedAt, time.Unix(0, first.At))
}

// measureAtReader measures p over the window of a, the bench process's final reader.
func measureAtReader(ctx context.Context, p *proc, a *arrivals, errc <-chan error, startedAt time.Time) Round {
	s0, s1, err := measureArrivals(ctx, p, a, errc)
	if err != nil {
		return failed(err)
	}
	return round(a.want, a.window(), s0, s1, startedAt, time.Unix(0, a.firstAt.Load()))
}

// watchWorker reports a worker's error event on errc.
func watchWorker(ctx context.Context, w *proc, errc chan<- error) {
	if _, err := nextEvent(ctx, w, "never"); err != nil && ctx.Err() == nil {
		report(errc, err)
	}
}

// streamseaEnd is the stream-sea side of a scenario: an emulator and, when reading, the bench
// process's websocket reader of stream.
type streamseaEnd struct {
	emu    *emulator.Server
	reader *wsReader
}

func startStreamseaEnd(ctx context.Context, o Options, stream string, a *arrivals, errc chan<- error) (*streamseaEnd, error) {
	emu, err := startEmulator(o.Logger)
	if err != nil {
		return nil, err
	}
	e := &streamseaEnd{emu: emu}
	if a != nil {
		if e.reader, err = startReader(ctx, emu, stream, a, errc, o.Logger); err != nil {
			emu.Close()
			return nil, err
		}
	}
	return e, nil
}

func (e *streamseaEnd) close() {
	if e.reader != nil {
		e.reader.stop()
	}
	e.emu.Close()
}

// kafkaEnd is the Kafka side of a scenario that writes to Kafka: a fresh topic and the bench
// process's consumer of it.
type kafkaEnd struct {
	topic    string
	drop     func()
	cancel   context.CancelFunc
	consumer *consumer
}

func startKafkaEnd(ctx context.Context, env *runEnv, prefix string, a *arrivals, errc chan<- error) (*kafkaEnd, error) {
	topic, drop, err := env.freshTopic(ctx, prefix)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithCancel(ctx)
	return &kafkaEnd{topic: topic, drop: drop, cancel: cancel,
		consumer: startConsumer(cctx, env.k, topic, env.o.Partitions, a, errc)}, nil
}

func (e *kafkaEnd) close() {
	e.cancel()
	e.consumer.stop()
	e.drop()
}

func runGroupReader(ctx context.Context, env *runEnv) Round {
	topic, err := env.prefilledTopic(ctx)
	if err != nil {
		return failed(err)
	}
	w, err := startWorker(env.o, WorkerSpec{Role: roleGroupReader, Brokers: env.k.brokers, Topic: topic,
		Group: uniqueName("seabridge-bench-raw"), Messages: env.o.Messages})
	return withProc(w, err, func(startedAt time.Time) Round { return measureWorkerReader(ctx, w, startedAt) })
}

func runBatchedPublisher(ctx context.Context, env *runEnv) Round {
	o := env.o
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	const stream = "bench_raw_publish"
	a, errc := newArrivals(int64(o.Messages), false), make(chan error, 4)
	ss, err := startStreamseaEnd(ctx, o, stream, a, errc)
	if err != nil {
		return failed(err)
	}
	defer ss.close()
	w, err := startWorker(o, WorkerSpec{Role: roleBatchedPublisher, URL: ss.emu.URL(), Stream: stream,
		Messages: o.Messages, Batch: o.Batch, InFlight: o.InFlight, Gzip: config.DefaultStreamsea().Gzip})
	return withProc(w, err, func(startedAt time.Time) Round {
		go watchWorker(ctx, w, errc)
		return measureAtReader(ctx, w, a, errc, startedAt)
	})
}

func runBridgeKafkaToStreamsea(ctx context.Context, env *runEnv) Round {
	o := env.o
	topic, err := env.prefilledTopic(ctx)
	if err != nil {
		return failed(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	const stream = "bench_out"
	a, errc := newArrivals(int64(o.Messages), false), make(chan error, 4)
	ss, err := startStreamseaEnd(ctx, o, stream, a, errc)
	if err != nil {
		return failed(err)
	}
	defer ss.close()
	b, err := startBridge(o, bridgeConfig{emulatorURL: ss.emu.URL(), brokers: env.k.brokers, pipelines: []pipelineSpec{{
		name: PipelineKafkaToStreamsea, stream: stream, topic: topic, group: uniqueName("seabridge-bench"),
	}}})
	return withProc(b, err, func(startedAt time.Time) Round { return measureAtReader(ctx, b.proc, a, errc, startedAt) })
}

func runWebsocketReader(ctx context.Context, env *runEnv) Round {
	o := env.o
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	const stream = "bench_raw_read"
	ss, err := startStreamseaEnd(ctx, o, stream, nil, nil)
	if err != nil {
		return failed(err)
	}
	defer ss.close()
	pub, err := newPublisher(ss.emu)
	if err != nil {
		return failed(err)
	}
	defer pub.CloseIdleConnections()
	w, err := startWorker(o, WorkerSpec{Role: roleWebsocketReader, URL: ss.emu.URL(), Stream: stream, Messages: o.Messages})
	return withProc(w, err, func(startedAt time.Time) Round {
		if _, err := nextEvent(ctx, w, "ready"); err != nil {
			return failed(err)
		}
		if err := waitSubscribed(ctx, ss.emu, stream, w.exited); err != nil {
			return failed(err)
		}
		pubErr := make(chan error, 1)
		go func() { pubErr <- publishConcurrently(ctx, pub, stream, 0, o.Messages, o.Batch, o.InFlight) }()
		r := measureWorkerReader(ctx, w, startedAt)
		cancel()
		if err := <-pubErr; err != nil && r.OK() && ctx.Err() == nil {
			r = failed(err)
		}
		return r
	})
}

func runKafkaProducer(ctx context.Context, env *runEnv) Round {
	o := env.o
	a, errc := newArrivals(int64(o.Messages), false), make(chan error, 4)
	ke, err := startKafkaEnd(ctx, env, "raw-produce", a, errc)
	if err != nil {
		return failed(err)
	}
	defer ke.close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := startWorker(o, WorkerSpec{Role: roleKafkaProducer, Brokers: env.k.brokers, Topic: ke.topic,
		Messages: o.Messages, Batch: o.Batch})
	return withProc(w, err, func(startedAt time.Time) Round {
		go watchWorker(ctx, w, errc)
		return measureAtReader(ctx, w, a, errc, startedAt)
	})
}

func runBridgeStreamseaToKafka(ctx context.Context, env *runEnv) Round {
	return runStreamseaToKafkaBridge(ctx, env, "")
}

// runBridgeStreamseaToKafkaSpool runs the bridge with a spool in a fresh directory.
func runBridgeStreamseaToKafkaSpool(ctx context.Context, env *runEnv) Round {
	dir, err := os.MkdirTemp("", "seabridge-bench-spool-")
	if err != nil {
		return failed(err)
	}
	defer os.RemoveAll(dir)
	return runStreamseaToKafkaBridge(ctx, env, dir)
}

// runStreamseaToKafkaBridge measures stream-sea -> Kafka through the bridge, with a spool in
// spoolDir unless it is "".
func runStreamseaToKafkaBridge(ctx context.Context, env *runEnv, spoolDir string) Round {
	o := env.o
	a, errc := newArrivals(int64(o.Messages), false), make(chan error, 4)
	ke, err := startKafkaEnd(ctx, env, "to-kafka", a, errc)
	if err != nil {
		return failed(err)
	}
	defer ke.close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	const stream = "bench_in"
	ss, err := startStreamseaEnd(ctx, o, stream, nil, nil)
	if err != nil {
		return failed(err)
	}
	defer ss.close()
	pub, err := newPublisher(ss.emu)
	if err != nil {
		return failed(err)
	}
	defer pub.CloseIdleConnections()
	b, err := startBridge(o, bridgeConfig{emulatorURL: ss.emu.URL(), brokers: env.k.brokers, pipelines: []pipelineSpec{{
		name: PipelineStreamseaToKafka, toKafka: true, stream: stream, topic: ke.topic, spool: spoolDir,
	}}})
	return withProc(b, err, func(startedAt time.Time) Round {
		if err := b.waitReady(ctx); err != nil {
			return failed(err)
		}
		if err := waitSubscribed(ctx, ss.emu, stream, b.exited); err != nil {
			return failed(err)
		}
		go func() {
			if err := publishConcurrently(ctx, pub, stream, 0, o.Messages, o.Batch, o.InFlight); err != nil && ctx.Err() == nil {
				report(errc, err)
			}
		}()
		return measureAtReader(ctx, b.proc, a, errc, startedAt)
	})
}

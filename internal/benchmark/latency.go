package benchmark

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// Latency scenario names; each runs once per offered rate. The two "alone" scenarios measure
// the load generator and the final reader of one side without the bridge: the floor the
// bridge's figures stand on.
const (
	LatencyKafkaAlone       = "latency-kafka-alone"
	LatencyStreamseaAlone   = "latency-streamsea-alone"
	LatencyKafkaToStreamsea = "latency-kafka-to-streamsea"
	LatencyStreamseaToKafka = "latency-streamsea-to-kafka"
)

// maxPerSend bounds one paced send (a load generator that fell behind catches up in sends of
// at most this many messages).
const maxPerSend = 1000

// sender sends one group of payloads synchronously.
type sender interface {
	send(ctx context.Context, payloads [][]byte) error
}

// pace offers rate msg/s to s for d: every millisecond it sends, in one call, the messages due
// by then, each stamped with the time the call starts. It returns how many it sent.
func pace(ctx context.Context, s sender, rate int, d time.Duration) (int64, error) {
	total := int64(float64(rate) * d.Seconds())
	payloads := newPayloadBatch(maxPerSend)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	var sent int64
	for sent < total {
		select {
		case <-ctx.Done():
			return sent, ctx.Err()
		case <-tick.C:
		}
		due := min(total, int64(time.Since(start).Seconds()*float64(rate))+1)
		for sent < due {
			k := int(min(due-sent, maxPerSend))
			if err := s.send(ctx, payloads.fill(k, sent, time.Now().UnixNano())); err != nil {
				return sent, err
			}
			sent += int64(k)
		}
	}
	return sent, nil
}

// warmUp sends warm-up messages (negative sequence numbers, not counted) every 20ms until
// twice as many as there are partitions have arrived, so that the measured load starts on a
// bridge whose consumer group and connections to every partition are set up. A send refused
// with a temporary Kafka error (a fresh topic's partition whose leader is not serving yet:
// Apache Kafka names a leader in its metadata a moment before it accepts produce requests)
// is sent again at the next tick; any other failure ends the warm-up.
func warmUp(ctx context.Context, s sender, a *arrivals, partitions int, exited <-chan struct{}) error {
	payloads := newPayloadBatch(1)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var refused error
	for seq := int64(-1); ; seq-- {
		if a.warmN.Load() >= int64(2*partitions) {
			return nil
		}
		if err := s.send(ctx, payloads.fill(1, seq, time.Now().UnixNano())); err != nil {
			if !temporaryKafkaError(err) {
				return fmt.Errorf("warm-up: %w", err)
			}
			refused = err
		}
		select {
		case <-exited:
			return fmt.Errorf("warm-up: the bridge exited")
		case <-ctx.Done():
			if refused != nil {
				return fmt.Errorf("warm-up: no message arrived: %w (last refusal: %w)", ctx.Err(), refused)
			}
			return fmt.Errorf("warm-up: no message arrived: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// temporaryKafkaError tells a Kafka error code that retrying can fix (kafka-go's
// Error.Temporary: not leader, leader not available, unknown partition while it is created)
// from any other failure.
func temporaryKafkaError(err error) bool {
	var ke kafka.Error
	return errors.As(err, &ke) && ke.Temporary()
}

// latencyScenario is one latency measurement: a load generator sending into one side, a final
// reader on the other, and the bridge between them, or nothing (the floor of one hop).
type latencyScenario struct {
	name      string
	direction string
	fromKafka bool // the load generator produces to Kafka (else publishes to stream-sea)
	toKafka   bool // the final reader consumes Kafka (else reads the websocket)
	bridge    bool
}

func latencyScenarios() []latencyScenario {
	return []latencyScenario{
		{LatencyKafkaAlone, "kafka alone", true, true, false},
		{LatencyStreamseaAlone, "stream-sea alone", false, false, false},
		{LatencyKafkaToStreamsea, KafkaToStreamsea, true, false, true},
		{LatencyStreamseaToKafka, StreamseaToKafka, false, true, true},
	}
}

func runLatency(ctx context.Context, env *runEnv, sc latencyScenario, rate int) Latency {
	l := Latency{Scenario: sc.name, Direction: sc.direction, Rate: rate}
	if err := measureLatency(ctx, env, sc, &l); err != nil {
		l.Error = err.Error()
	}
	return l
}

// measureLatency sets up the scenario's two ends and, for a bridge scenario, the bridge; warms
// them up, offers l.Rate for the latency duration and waits for every message to arrive.
func measureLatency(ctx context.Context, env *runEnv, sc latencyScenario, l *Latency) (err error) {
	o := env.o
	topic, drop, err := env.freshTopic(ctx, "latency")
	if err != nil {
		return err
	}
	defer drop()
	emu, err := startEmulator(o.Logger)
	if err != nil {
		return err
	}
	defer emu.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	want := int64(float64(l.Rate) * o.LatencyDuration.Seconds())
	a := newArrivals(want, true)
	errc := make(chan error, 4)
	const stream = "bench_latency"
	var s sender = &kafkaSender{k: env.k, topic: topic, partitions: o.Partitions}
	if !sc.fromKafka {
		pub, err := newPublisher(emu)
		if err != nil {
			return err
		}
		defer pub.CloseIdleConnections()
		s = &streamseaSender{client: pub, stream: stream}
	}
	var stopReaders func()
	if sc.toKafka {
		rctx, stop := context.WithCancel(ctx)
		c := startConsumer(rctx, env.k, topic, o.Partitions, a, errc)
		stopReaders = sync.OnceFunc(func() {
			stop()
			c.stop()
		})
	} else {
		reader, err := startReader(ctx, emu, stream, a, errc, o.Logger)
		if err != nil {
			return err
		}
		stopReaders = sync.OnceFunc(reader.stop)
	}
	defer stopReaders()
	var b *bridgeProc
	var exited <-chan struct{}
	if sc.bridge {
		p := pipelineSpec{stream: stream, topic: topic, toKafka: sc.toKafka, name: PipelineStreamseaToKafka}
		if !sc.toKafka {
			p.name, p.group = PipelineKafkaToStreamsea, uniqueName("seabridge-bench-latency")
		}
		if b, err = startBridge(o, bridgeConfig{emulatorURL: emu.URL(), brokers: env.k.brokers, pipelines: []pipelineSpec{p}}); err != nil {
			return err
		}
		defer func() {
			if cerr := b.stop(15 * time.Second); cerr != nil && err == nil {
				err = cerr
			}
		}()
		exited = b.exited
		if err := b.waitReady(ctx); err != nil {
			return err
		}
		if sc.toKafka {
			if err := waitSubscribed(ctx, emu, stream, b.exited); err != nil {
				return err
			}
		}
	}
	if err := warmUp(ctx, s, a, o.Partitions, exited); err != nil {
		return err
	}
	var s0 procSample
	if b != nil {
		if s0, err = b.sample(); err != nil {
			return err
		}
	}
	started := time.Now()
	l.Sent, err = pace(ctx, s, l.Rate, o.LatencyDuration)
	if err != nil {
		return err
	}
	l.Seconds = time.Since(started).Seconds()
	err = waitFor(ctx, a.done, "every message", errc, exited)
	l.Received = a.received()
	if err != nil {
		return err
	}
	if b != nil {
		s1, err := b.sample()
		if err != nil {
			return err
		}
		l.BridgeCPUSecondsPerMillion = (s1.cpu - s0.cpu).Seconds() / float64(want) * 1e6
		l.BridgePeakRSSBytes = s1.hwm
	}
	stopReaders() // their samples may be read only once they have stopped
	l.Latency = Summarize(a.latencies())
	return nil
}

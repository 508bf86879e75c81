package benchmark

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Latency scenario names; each runs once per offered rate.
const (
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
// bridge whose consumer group and connections to every partition are set up.
func warmUp(ctx context.Context, s sender, a *arrivals, partitions int, exited <-chan struct{}) error {
	payloads := newPayloadBatch(1)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for seq := int64(-1); ; seq-- {
		if a.warmN.Load() >= int64(2*partitions) {
			return nil
		}
		if err := s.send(ctx, payloads.fill(1, seq, time.Now().UnixNano())); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		select {
		case <-exited:
			return fmt.Errorf("warm-up: the bridge exited")
		case <-ctx.Done():
			return fmt.Errorf("warm-up: no message arrived: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

func runLatency(ctx context.Context, env *runEnv, name, direction string, rate int) Latency {
	l := Latency{Scenario: name, Direction: direction, Rate: rate}
	if err := measureLatency(ctx, env, &l); err != nil {
		l.Error = err.Error()
	}
	return l
}

// measureLatency sets up the bridge in l.Direction, warms it up, offers l.Rate for the
// latency duration and waits for every message to arrive.
func measureLatency(ctx context.Context, env *runEnv, l *Latency) (err error) {
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
	var s sender
	var stopReaders func()
	p := pipelineSpec{stream: stream, topic: topic}
	if l.Direction == KafkaToStreamsea {
		reader, err := startReader(ctx, emu, stream, a, errc, o.Logger)
		if err != nil {
			return err
		}
		stopReaders = sync.OnceFunc(reader.stop)
		p.name, p.group = PipelineKafkaToStreamsea, uniqueName("seabridge-bench-latency")
		s = &kafkaSender{k: env.k, topic: topic, partitions: o.Partitions}
	} else {
		pub, err := newPublisher(emu)
		if err != nil {
			return err
		}
		defer pub.CloseIdleConnections()
		c := startConsumer(ctx, env.k, topic, o.Partitions, a, errc)
		stopReaders = sync.OnceFunc(func() {
			cancel()
			c.stop()
		})
		p.name, p.toKafka = PipelineStreamseaToKafka, true
		s = &streamseaSender{client: pub, stream: stream}
	}
	defer stopReaders()
	b, err := startBridge(o, bridgeConfig{emulatorURL: emu.URL(), brokers: env.k.brokers, pipelines: []pipelineSpec{p}})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := b.stop(15 * time.Second); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if err := b.waitReady(ctx); err != nil {
		return err
	}
	if p.toKafka {
		if err := waitSubscribed(ctx, emu, stream, b.exited); err != nil {
			return err
		}
	}
	if err := warmUp(ctx, s, a, o.Partitions, b.exited); err != nil {
		return err
	}
	s0, err := b.sample()
	if err != nil {
		return err
	}
	started := time.Now()
	l.Sent, err = pace(ctx, s, l.Rate, o.LatencyDuration)
	if err != nil {
		return err
	}
	l.Seconds = time.Since(started).Seconds()
	err = waitFor(ctx, a.done, "every message", errc, b.exited)
	l.Received = a.received()
	if err != nil {
		return err
	}
	s1, err := b.sample()
	if err != nil {
		return err
	}
	l.BridgeCPUSecondsPerMillion = (s1.cpu - s0.cpu).Seconds() / float64(want) * 1e6
	l.BridgePeakRSSBytes = s1.hwm
	stopReaders() // their samples may be read only once they have stopped
	l.Latency = Summarize(a.latencies())
	return nil
}

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/seabridge/seabridge/internal/bridge"
	"github.com/seabridge/seabridge/internal/streamsea"
)

// poisonEvery is how often the demo load generator sends a message the bridge must
// dead-letter: a boiler reading without a vesselId (no Kafka key), or an alarm whose severity
// is not in the stream's enum (schema validation fails).
const poisonEvery = 500

// loadGenerator feeds the demo pipelines of `bridge dev`: boiler readings published to the
// stream-sea stream boiler_data, and alarms produced to the Kafka topic vessel.alarms.
type loadGenerator struct {
	rate     int
	log      *slog.Logger
	client   *streamsea.Client
	writer   *kafka.Writer
	readings atomic.Uint64
	alarms   atomic.Uint64
}

func newLoadGenerator(brokers []string, streamseaURL string, rate int, logger *slog.Logger) (*loadGenerator, error) {
	client, err := streamsea.NewClient(streamsea.ClientOptions{BaseURL: streamseaURL, ClientID: "bridge", ClientSecret: "bridge-secret"})
	if err != nil {
		return nil, fmt.Errorf("dev: load generator: %w", err)
	}
	writer := &kafka.Writer{
		Addr: kafka.TCP(brokers...), Topic: "vessel.alarms", Balancer: &kafka.Hash{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond,
		Transport: &kafka.Transport{}, // its own, so that closing it leaves no connection behind
	}
	return &loadGenerator{rate: rate, log: logger, client: client, writer: writer}, nil
}

// run sends rate messages per second each way, in ten ticks a second, until ctx is done.
func (g *loadGenerator) run(ctx context.Context) {
	defer func() {
		_ = g.writer.Close()
		g.writer.Transport.(*kafka.Transport).CloseIdleConnections()
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	perTick := max(g.rate/10, 1)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := g.publishReadings(ctx, perTick); err != nil && ctx.Err() == nil {
			g.log.Warn("publishing boiler readings to stream-sea failed", "error", err)
		}
		if err := g.produceAlarms(ctx, perTick); err != nil && ctx.Err() == nil {
			g.log.Warn("producing alarms to Kafka failed", "error", err)
		}
	}
}

func (g *loadGenerator) publishReadings(ctx context.Context, n int) error {
	batch := make([][]byte, n)
	for i := range batch {
		seq := g.readings.Add(1)
		vessel := `"vesselId":"IMO` + strconv.Itoa(9000000+int(seq%7)) + `",`
		if seq%poisonEvery == 0 {
			vessel = ""
		}
		batch[i] = fmt.Appendf(nil, `{%s"seq":%d,"temperature":%.1f,"pressure":%d}`, vessel, seq, 80+float64(seq%200)/10, 3000+seq%17)
	}
	return g.client.PublishBatch(ctx, "boiler_data", batch)
}

var severities = []string{"low", "medium", "high"}

func (g *loadGenerator) produceAlarms(ctx context.Context, n int) error {
	msgs := make([]kafka.Message, n)
	now := time.Now().UTC().Format("2006-01-02T15:04:05Z")
	for i := range msgs {
		seq := g.alarms.Add(1)
		severity := severities[seq%3]
		if seq%poisonEvery == 0 {
			severity = "urgent"
		}
		vessel := "IMO" + strconv.Itoa(9000000+int(seq%7))
		msgs[i] = kafka.Message{Key: []byte(vessel), Value: fmt.Appendf(nil,
			`{"vesselId":%q,"raisedAt":%q,"severity":%q,"code":%d}`, vessel, now, severity, seq%1000)}
	}
	return g.writer.WriteMessages(ctx, msgs...)
}

// reportProgress prints, every interval, what the load generator sent (when there is one) and
// one line per pipeline with every outcome of what it read: written (with the rate since the
// previous line), filtered, dead-lettered, dropped, nacked, received and never handed over
// (undelivered), and still in flight.
func reportProgress(ctx context.Context, out io.Writer, every time.Duration, a *bridge.App, gen *loadGenerator) {
	t := time.NewTicker(every)
	defer t.Stop()
	prev := map[string]uint64{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now().Format("15:04:05")
		var b strings.Builder
		if gen != nil {
			fmt.Fprintf(&b, "%s  sent: %d readings, %d alarms\n", now, gen.readings.Load(), gen.alarms.Load())
		}
		for _, s := range a.Stats() {
			fmt.Fprintf(&b, "%s  %s\n", now, progressLine(s, s.Out-min(prev[s.Name], s.Out), every))
			prev[s.Name] = s.Out
		}
		fmt.Fprint(out, b.String())
	}
}

// progressLine is one pipeline's part of the progress report; wrote is what it wrote in the
// last interval.
func progressLine(s bridge.PipelineStats, wrote uint64, every time.Duration) string {
	state := "up"
	if !s.Ready {
		state = "DOWN"
	}
	return fmt.Sprintf("%s [%s]: in %d, out %d (%.0f/s), dlq %d, dropped %d, filtered %d, nacked %d, undelivered %d, in flight %d",
		s.Name, state, s.In, s.Out, float64(wrote)/every.Seconds(), s.DeadLettered, s.Dropped, s.Filtered,
		s.Nacked, s.Undelivered, s.InFlight)
}

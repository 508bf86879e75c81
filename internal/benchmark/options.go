package benchmark

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/seabridge/seabridge/internal/config"
)

// Defaults applied by Run to zero Options fields.
const (
	DefaultMessages      = 200_000
	DefaultSize          = 256
	DefaultBatch         = 500
	DefaultPartitions    = 1
	DefaultTimeout       = 3 * time.Minute
	DefaultProgressEvery = 2 * time.Second
)

// Options configure one benchmark run.
type Options struct {
	// Kafka lists external brokers (HOST:PORT). Empty: every scenario starts its own
	// in-process kfake broker.
	Kafka    []string
	Messages int // messages per scenario; default 200000
	Size     int // payload bytes, at least MinSize; default 256
	// Batch is the messages per load-generator call (PublishBatch, WriteMessages) and the
	// bridge pipeline's batch.size, so that the raw producer writes batches like the bridge's
	// Kafka sink does; default 500.
	Batch int
	// BatchTimeout is the Kafka producer linger of the raw producer and of the bridge's Kafka
	// sink (sink.batch_timeout); default: the config default.
	BatchTimeout time.Duration
	Partitions   int           // partitions of every benchmark topic; default 1
	Timeout      time.Duration // bound on each scenario, setup and teardown included; default 3m
	// Scenarios names the scenarios to run, in the order of Scenarios(); empty runs all.
	Scenarios []string
	// Environ holds BRIDGE_* overrides (os.Environ form) applied to the bridge's config in
	// the bridge scenarios; other entries are ignored.
	Environ       []string
	Logger        *slog.Logger // logs of the bridge and emulator; default: discard
	Progress      io.Writer    // progress lines while running; nil: none
	ProgressEvery time.Duration
}

func (o Options) withDefaults() (Options, error) {
	o.Messages = orDefault(o.Messages, DefaultMessages)
	o.Size = orDefault(o.Size, DefaultSize)
	o.Batch = orDefault(o.Batch, DefaultBatch)
	o.BatchTimeout = orDefault(o.BatchTimeout, config.DefaultSink(config.EndpointKafka).BatchTimeout)
	o.Partitions = orDefault(o.Partitions, DefaultPartitions)
	o.Timeout = orDefault(o.Timeout, DefaultTimeout)
	o.ProgressEvery = orDefault(o.ProgressEvery, DefaultProgressEvery)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	var problems []string
	if o.Messages < 0 || o.Batch < 0 || o.Partitions < 0 || o.BatchTimeout < 0 || o.Timeout < 0 {
		problems = append(problems, "messages, batch, partitions, batch timeout and timeout must not be negative")
	}
	if o.Size < MinSize {
		problems = append(problems, fmt.Sprintf("size %d is below the minimum of %d bytes", o.Size, MinSize))
	}
	known := scenarioNames()
	for _, s := range o.Scenarios {
		if !slices.Contains(known, s) {
			problems = append(problems, fmt.Sprintf("unknown scenario %q (want %s)", s, strings.Join(known, ", ")))
		}
	}
	o.Environ = slices.DeleteFunc(slices.Clone(o.Environ), func(kv string) bool { return !strings.HasPrefix(kv, "BRIDGE_") })
	if len(problems) > 0 {
		return o, fmt.Errorf("%w: %s", ErrBadOptions, strings.Join(problems, "; "))
	}
	return o, nil
}

func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

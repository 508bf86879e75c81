package benchmark

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Defaults applied by Run to zero Options fields.
const (
	DefaultMessages        = 1_000_000
	DefaultPartitions      = 6
	DefaultBatch           = 500
	DefaultInFlight        = 4
	DefaultRounds          = 3
	DefaultLatencyDuration = 10 * time.Second
	DefaultIdlePipelines   = 100
	DefaultTimeout         = 3 * time.Minute
	DefaultProgressEvery   = 2 * time.Second
)

// DefaultRates are the offered loads of the latency scenarios, in messages per second.
var DefaultRates = []int{1000, 10000}

// Groups of scenarios that Options.Scenarios may name instead of single scenarios.
const (
	GroupThroughput = "throughput"
	GroupLatency    = "latency"
	GroupMemory     = "memory"
)

// Options configure one benchmark run.
type Options struct {
	// Bridge is the bridge binary to measure (bridge run) and to run the raw clients with
	// (bridge bench --worker). Required.
	Bridge string
	// Kafka lists external brokers (HOST:PORT). Empty: the run starts an in-process kfake
	// broker in the bench process.
	Kafka      []string
	Messages   int // messages per throughput scenario and round; default 1,000,000
	Partitions int // partitions of every benchmark topic; default 6
	// Batch is the messages per publish or produce call of the raw clients; default 500, the
	// bridge's batch.size.
	Batch int
	// InFlight is the concurrent PublishBatch calls of the raw batched publisher and of the
	// bench process's own publisher; default 4.
	InFlight int
	Rounds   int // rounds of the throughput scenarios, interleaved; default 3
	// Rates are the offered loads of the latency scenarios (msg/s); default 1000 and 10000.
	Rates           []int
	LatencyDuration time.Duration // how long each latency scenario offers its load; default 10s
	IdlePipelines   int           // pipelines of the idle-memory scenario; default 100
	Timeout         time.Duration // bound on each scenario, setup and teardown included; default 3m
	// Scenarios names the scenarios or groups (throughput, latency, memory) to run; empty
	// runs all.
	Scenarios []string
	// Environ holds BRIDGE_* overrides (os.Environ form) for the bridge processes; other
	// entries are ignored. An override of one pipeline applies to configs that have it.
	Environ []string
	// CPUProfiles is a directory where every bridge process writes a CPU profile of its run
	// (bridge run --cpu-profile), named after the order it started in and its first
	// pipeline; empty: no profiles.
	CPUProfiles   string
	Logger        *slog.Logger // logs of the emulator and workers; default: discard
	Progress      io.Writer    // progress lines while running; nil: none
	ProgressEvery time.Duration
}

func (o Options) withDefaults() (Options, error) {
	o.Messages = orDefault(o.Messages, DefaultMessages)
	o.Partitions = orDefault(o.Partitions, DefaultPartitions)
	o.Batch = orDefault(o.Batch, DefaultBatch)
	o.InFlight = orDefault(o.InFlight, DefaultInFlight)
	o.Rounds = orDefault(o.Rounds, DefaultRounds)
	o.LatencyDuration = orDefault(o.LatencyDuration, DefaultLatencyDuration)
	o.IdlePipelines = orDefault(o.IdlePipelines, DefaultIdlePipelines)
	o.Timeout = orDefault(o.Timeout, DefaultTimeout)
	o.ProgressEvery = orDefault(o.ProgressEvery, DefaultProgressEvery)
	if len(o.Rates) == 0 {
		o.Rates = slices.Clone(DefaultRates)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	var problems []string
	if o.Bridge == "" {
		problems = append(problems, "no bridge binary to measure")
	}
	if o.Messages < 0 || o.Partitions < 0 || o.Batch < 0 || o.InFlight < 0 || o.Rounds < 0 ||
		o.LatencyDuration < 0 || o.IdlePipelines < 0 || o.Timeout < 0 {
		problems = append(problems, "messages, partitions, batch, in-flight, rounds, latency duration, idle pipelines and timeout must not be negative")
	}
	if o.IdlePipelines < 4 {
		problems = append(problems, fmt.Sprintf("idle pipelines %d: want at least 4", o.IdlePipelines))
	}
	for _, r := range o.Rates {
		if r <= 0 {
			problems = append(problems, fmt.Sprintf("rate %d: want a positive msg/s", r))
		}
	}
	known := append(scenarioNames(), GroupThroughput, GroupLatency, GroupMemory)
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

// selected reports whether the scenario name of group is to run.
func (o Options) selected(name, group string) bool {
	return len(o.Scenarios) == 0 || slices.Contains(o.Scenarios, name) || slices.Contains(o.Scenarios, group)
}

func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

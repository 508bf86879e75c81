package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/seabridge/seabridge/internal/benchmark"
)

const benchHelp = `Measure the bridge as its users see it: 'bridge run' as its own process, with its defaults,
side by side with the raw limits of each side measured in the same run, each raw client in its
own process too. The CPU and peak RSS of each figure are that process's only (/proc/PID); the
Kafka broker, the stream-sea emulator, the load generators and the final readers run outside it.

Throughput at saturation, in --rounds interleaved rounds (median and spread):
  Kafka -> stream-sea: raw-group-reader (bare kafka-go group reader), raw-batched-publisher
    (PublishBatch of --batch, --in-flight at once), bridge-kafka-to-streamsea (schema
    ensured, validate and gzip on);
  stream-sea -> Kafka: raw-websocket-reader (bare websocket reader), raw-kafka-producer (bare
    kafka-go Writer with the sink's defaults), bridge-streamsea-to-kafka, and
    bridge-streamsea-to-kafka-spool (the same with [pipelines.spool], fsync "interval").
Then each bridge figure as a ratio to its limits, round by round; end-to-end latency (p50,
p99, p999) of each direction at each --rates offered load; the RSS of --idle-pipelines idle
pipelines; and the project's performance targets, met or missed.

The payload is a ~250-byte JSON vessel position of 15 fields. With --kafka kfake (the default)
an in-process Kafka broker runs in the bench process; with --kafka HOST:PORT,... the run uses
that cluster (fresh topics, deleted afterwards). BRIDGE_* environment variables override the
config of the bridge processes as for 'bridge run' (pipelines bench-kafka-to-streamsea and
bench-streamsea-to-kafka).

Progress goes to stderr; the report (or --json) to stdout. Exit status 1 if a scenario failed.`

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "[flags]", benchHelp, stderr)
	var (
		o         benchmark.Options
		kafkaFlag string
		scenarios string
		rates     string
		asJSON    bool
		jsonFile  string
		logLevel  string
		worker    string
	)
	fs.StringVar(&kafkaFlag, "kafka", "kfake", `"kfake" (in-process broker) or HOST:PORT,... of a real cluster`)
	fs.StringVar(&o.Bridge, "bridge", "", "bridge binary to measure (default: this executable)")
	fs.IntVar(&o.Messages, "messages", benchmark.DefaultMessages, "messages per throughput scenario and round")
	fs.IntVar(&o.Partitions, "partitions", benchmark.DefaultPartitions, "partitions of each benchmark topic")
	fs.IntVar(&o.Batch, "batch", benchmark.DefaultBatch, "messages per publish or produce call of the raw clients")
	fs.IntVar(&o.InFlight, "in-flight", benchmark.DefaultInFlight, "concurrent publish calls of the raw batched publisher")
	fs.IntVar(&o.Rounds, "rounds", benchmark.DefaultRounds, "interleaved rounds of the throughput scenarios")
	fs.StringVar(&rates, "rates", joinInts(benchmark.DefaultRates), "offered loads of the latency scenarios, msg/s, comma-separated")
	fs.DurationVar(&o.LatencyDuration, "latency-duration", benchmark.DefaultLatencyDuration, "how long each latency scenario offers its load")
	fs.IntVar(&o.IdlePipelines, "idle-pipelines", benchmark.DefaultIdlePipelines, "pipelines of the idle-memory scenario")
	fs.DurationVar(&o.Timeout, "timeout", benchmark.DefaultTimeout, "bound on each scenario")
	fs.StringVar(&scenarios, "scenarios", "", "comma-separated scenarios or groups (throughput, latency, memory) to run (default: all)")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fs.StringVar(&jsonFile, "json-file", "", "also write the report as JSON to this file (for comparing runs)")
	fs.StringVar(&logLevel, "log-level", "warn", "log level of the emulator and the raw clients (stderr)")
	fs.StringVar(&o.CPUProfiles, "cpu-profile", "", "directory for a CPU profile (pprof) of every bridge process measured")
	fs.StringVar(&worker, "worker", "", "internal: run one raw client (a JSON job) as a child of a bench run")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	logger, err := newLogger(stderr, "text", logLevel)
	if err != nil {
		return err
	}
	if worker != "" {
		err := benchmark.RunWorker(ctx, worker, os.Stdin, stdout, logger)
		if errors.Is(err, benchmark.ErrBadOptions) {
			return usageError{err}
		}
		return err
	}
	if o.Bridge == "" {
		if o.Bridge, err = os.Executable(); err != nil {
			return fmt.Errorf("bench: find the bridge binary: %w", err)
		}
	}
	if kafkaFlag != "kfake" {
		o.Kafka = strings.Split(kafkaFlag, ",")
	}
	if scenarios != "" {
		o.Scenarios = strings.Split(scenarios, ",")
	}
	if o.Rates, err = parseInts(rates); err != nil {
		return usageError{fmt.Errorf("bench: --rates: %w", err)}
	}
	if o.CPUProfiles != "" {
		if err := os.MkdirAll(o.CPUProfiles, 0o755); err != nil {
			return fmt.Errorf("bench: --cpu-profile: %w", err)
		}
	}
	o.Environ, o.Logger, o.Progress = configEnviron(), logger, stderr
	rep, err := benchmark.Run(ctx, o)
	if errors.Is(err, benchmark.ErrBadOptions) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	if asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteTable(stdout)
	}
	if err != nil {
		return err
	}
	if jsonFile != "" {
		if err := writeJSONFile(jsonFile, rep); err != nil {
			return err
		}
	}
	if !rep.OK() {
		return errors.New("bench: a scenario failed (see the report)")
	}
	return nil
}

func writeJSONFile(path string, rep *benchmark.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	err = rep.WriteJSON(f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("bench: %w", cerr)
	}
	return err
}

func joinInts(vs []int) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ",")
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number", f)
		}
		out = append(out, v)
	}
	return out, nil
}

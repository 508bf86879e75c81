package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/seabridge/seabridge/internal/benchmark"
)

const benchHelp = `Measure the bridge's throughput, end-to-end latency, CPU per message and memory, side by
side with the raw limits measured in the same run: a bare kafka-go producer (the Kafka-side
ceiling) and a bare websocket reader of the stream-sea emulator (the stream-sea-side ceiling).
Scenarios, in order: raw-kafka-producer, raw-websocket-reader, bridge-streamsea-to-kafka,
bridge-kafka-to-streamsea. The emulator runs in process with the "block" slow-subscriber
policy (publishers wait for slow readers; nothing is dropped).

With --kafka kfake (the default) every scenario starts an in-process Kafka broker, whose CPU is
counted in every scenario alike. With --kafka HOST:PORT,... the scenarios use that cluster
(fresh topics, deleted afterwards); the broker then runs out of process and its CPU is not
counted. BRIDGE_* environment variables override the bridge's config as for 'bridge run'.

Progress goes to stderr; the table (or --json) to stdout. Exit status 1 if a scenario failed.`

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "[flags]", benchHelp, stderr)
	var (
		o         benchmark.Options
		kafkaFlag string
		scenarios string
		asJSON    bool
		logLevel  string
		profile   string
	)
	fs.StringVar(&kafkaFlag, "kafka", "kfake", `"kfake" (in-process broker) or HOST:PORT,... of a real cluster`)
	fs.IntVar(&o.Messages, "messages", benchmark.DefaultMessages, "messages per scenario")
	fs.IntVar(&o.Size, "size", benchmark.DefaultSize, fmt.Sprintf("payload bytes (at least %d)", benchmark.MinSize))
	fs.IntVar(&o.Batch, "batch", benchmark.DefaultBatch, "messages per publish/produce call of the load generators, and the bridge's batch.size")
	fs.DurationVar(&o.BatchTimeout, "batch-timeout", 0, "Kafka producer linger of the raw producer and the bridge's sink (default: the config default)")
	fs.IntVar(&o.Partitions, "partitions", benchmark.DefaultPartitions, "partitions of each benchmark topic")
	fs.DurationVar(&o.Timeout, "timeout", benchmark.DefaultTimeout, "bound on each scenario")
	fs.StringVar(&scenarios, "scenarios", "", "comma-separated scenarios to run (default: all)")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fs.StringVar(&logLevel, "log-level", "warn", "log level of the bridge and emulator (stderr)")
	fs.StringVar(&profile, "cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	logger, err := newLogger(stderr, "text", logLevel)
	if err != nil {
		return err
	}
	if kafkaFlag != "kfake" {
		o.Kafka = strings.Split(kafkaFlag, ",")
	}
	if scenarios != "" {
		o.Scenarios = strings.Split(scenarios, ",")
	}
	o.Environ, o.Logger, o.Progress = configEnviron(), logger, stderr
	if profile != "" {
		stop, err := startCPUProfile(profile)
		if err != nil {
			return err
		}
		defer stop()
	}
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
	if !rep.OK() {
		return errors.New("bench: a scenario failed (see the report)")
	}
	return nil
}

// startCPUProfile starts writing a CPU profile to path; the returned func stops and closes it.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("bench: cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("bench: cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

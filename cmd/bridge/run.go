package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/seabridge/seabridge/internal/bridge"
	"github.com/seabridge/seabridge/internal/config"
)

const runHelp = `Run the pipelines of a config file until SIGINT or SIGTERM. On a signal /readyz answers 503,
and the bridge stops reading and writes out everything it has received within
bridge.shutdown_timeout, then commits Kafka offsets and closes its connections within as long
again, and exits; /metrics serves until then. Each pipeline logs a
"pipeline stopped" line with its counters. Messages still unwritten when that budget runs out
are given up on: they are logged per pipeline and the exit code is 1 (with a spool they stay
in it for the next start, which is no loss: exit code 0). A fatal pipeline error
(rejected credentials, schema conflict, missing topic) stops the bridge with exit code 1 and a
message naming the pipeline; with bridge.on_pipeline_failure = "isolate" that pipeline stays
failed and the others run on. An invalid config, or a metrics address that cannot be bound, is
exit code 2.

SIGHUP reloads the config file (with the environment of the start). An invalid config is
rejected with a log line and the running one stays. Otherwise only the pipelines whose config
changed are drained (as at a stop: nothing received is lost) and started again, added ones
start, removed ones drain and stop, failed ones start again, the others run on untouched; a
"config reloaded" line says which. http.listen, http.pprof, bridge.log_level and
bridge.log_format apply only at the next start: a reload that changes them says so.

With GOGC unset, the garbage collector's target is 200 instead of Go's 100 (less CPU per
message for a little more memory; docs/operations.md); GOGC and GOMEMLIMIT override it.`

func cmdRun(ctx context.Context, args []string, stderr io.Writer) error {
	hup, stopHUP := notifyHUP()
	defer stopHUP()
	fs := newFlagSet("run", "[--config FILE]", runHelp, stderr)
	path := fs.String("config", defaultConfigPath(), "config file (TOML); default $BRIDGE_CONFIG or ./bridge.toml")
	cpuProfile := fs.String("cpu-profile", "", "write a CPU profile (pprof) of the whole run to this file, for performance work")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	setDefaultGCPercent(os.LookupEnv)
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return usageError{err}
		}
		defer stop(stderr)
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	logger, err := newLogger(stderr, cfg.Bridge.LogFormat, cfg.Bridge.LogLevel)
	if err != nil {
		return err
	}
	a, err := bridge.New(cfg, version, logger)
	if err != nil {
		return usageError{err}
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	reloads := reloadOnHUP(runCtx, hup, a, logger, *path, func() (*config.Config, error) { return config.Load(*path, configEnviron()) })
	err = a.Run(ctx)
	stop()
	<-reloads
	return err
}

// startCPUProfile starts profiling the process's CPU into path; the returned func stops the
// profile and closes the file, reporting a failure to stderr.
func startCPUProfile(path string) (func(io.Writer), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	return func(stderr io.Writer) {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(stderr, "bridge: --cpu-profile: %v\n", err)
		}
	}, nil
}

// loadConfig loads the --config of run and validate (default $BRIDGE_CONFIG or ./bridge.toml)
// with the process environment; errors are usage errors (exit 2).
func loadConfig(path string) (*config.Config, error) {
	cfg, err := loadConfigEnv(path, configEnviron())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, usageError{fmt.Errorf("%w (choose one with --config FILE or $BRIDGE_CONFIG)", err)}
	}
	return cfg, err
}

// loadConfigEnv loads path with environ. Errors are usage errors (exit 2), worded by the
// loader, which names the file.
func loadConfigEnv(path string, environ []string) (*config.Config, error) {
	cfg, err := config.Load(path, environ)
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

// configEnviron is the environment the config loader sees: every variable except
// BRIDGE_CONFIG, which names the file rather than a key in it.
func configEnviron() []string {
	env := os.Environ()
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "BRIDGE_CONFIG=") {
			out = append(out, kv)
		}
	}
	return out
}

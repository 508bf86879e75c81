// Command bridge is seabridge: a daemon that moves messages between stream-sea and Apache
// Kafka, in configured pipelines, in both directions.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `seabridge bridges stream-sea and Apache Kafka, in both directions.

Usage:
  bridge <command> [flags]

Commands:
  run        run the pipelines of a config file until SIGINT/SIGTERM
  validate   check a config file (and with --connect, the servers it names)
  dev        run demo pipelines against an embedded Kafka broker and stream-sea emulator
  tail       print the messages reaching a Kafka topic or a stream-sea stream
  send       send JSON lines to a Kafka topic or a stream-sea stream
  emulator   serve an in-memory stream-sea 4.x server for local development and tests
  bench      measure throughput, latency, CPU and memory against the raw limits
  probe      exit 0 when an HTTP health endpoint answers 2xx (for container healthchecks)
  version    print the version

Run 'bridge <command> --help' for the flags of a command.
Config: see config.example.toml; environment variables BRIDGE_<SECTION>__<KEY> override the file.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run dispatches a subcommand and returns the process exit code: 0 success, 1 runtime
// failure, 2 usage or configuration error. stdin is what `bridge send` reads (nil: nothing).
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(ctx, args[1:], stderr)
	case "validate":
		err = cmdValidate(ctx, args[1:], stdout, stderr)
	case "dev":
		err = cmdDev(ctx, args[1:], stdout, stderr)
	case "tail":
		err = cmdTail(ctx, args[1:], stdout, stderr)
	case "send":
		err = cmdSend(ctx, args[1:], stdin, stderr)
	case "emulator":
		err = cmdEmulator(ctx, args[1:], stderr)
	case "probe":
		err = cmdProbe(ctx, args[1:], stdout, stderr)
	case "bench":
		err = cmdBench(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "seabridge %s\n", version)
		return 0
	case "help", "--help", "-help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "bridge: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	return exitCode(err, stderr)
}

// errUsage marks errors in the command line or the config: exit code 2.
var errUsage = errors.New("usage")

type usageError struct{ err error }

func (e usageError) Error() string        { return e.err.Error() }
func (e usageError) Unwrap() error        { return e.err }
func (e usageError) Is(target error) bool { return target == errUsage }

func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "bridge: %v\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "bridge: %v\n", err)
		return 1
	}
}

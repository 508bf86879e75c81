package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// errHelp is returned when --help was asked for; the help text is already printed.
var errHelp = errors.New("help requested")

// newFlagSet returns a FlagSet whose --help prints the command's description and flags.
func newFlagSet(name, synopsis, description string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: bridge %s %s\n\n%s\n\nFlags:\n", name, synopsis, strings.TrimSpace(description))
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, mapping --help to errHelp and bad flags to a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return nil
}

// newLogger builds the process logger: format "text" or "json", level debug|info|warn|error.
// Both formats write durations as Go duration strings ("25.083s"), the form config keys take.
func newLogger(out io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Errorf("log level %q: want debug, info, warn or error", level)}
	}
	opts := &slog.HandlerOptions{Level: lvl, ReplaceAttr: durationAsString}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(out, opts)), nil
	case "text", "":
		return slog.New(slog.NewTextHandler(out, opts)), nil
	default:
		return nil, usageError{fmt.Errorf("log format %q: want text or json", format)}
	}
}

// durationAsString is the handlers' ReplaceAttr: slog's JSON handler writes a time.Duration as
// integer nanoseconds (25083000000), which no reader of the logs expects. Attributes inside
// groups are passed here too; LogValuers are resolved before.
func durationAsString(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// defaultConfigPath is --config's default: $BRIDGE_CONFIG, else ./bridge.toml.
func defaultConfigPath() string {
	if p := os.Getenv("BRIDGE_CONFIG"); p != "" {
		return p
	}
	return "bridge.toml"
}

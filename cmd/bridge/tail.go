package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/seabridge/seabridge/internal/bridge"
	"github.com/seabridge/seabridge/internal/inspect"
)

const tailHelp = `Print the messages that reach a Kafka topic or a stream-sea stream: for each its origin (topic,
partition and offset, or stream), time, key, headers and value. Values that are JSON are shown
as JSON, other text as a string, other bytes in base64 (with "value_base64": true).

Kafka: without --group every partition is read directly and nothing is committed: the tail
takes nothing from any consumer group. With --group it reads as a member of that group and
commits each record once printed. Without --from-beginning only records produced from now on
are shown (with --group: where the group has no committed offset).

stream-sea keeps no backlog: a tail sees what is published once it is subscribed, and says so
on stderr. Without --group it subscribes in a group of its own (a random id), so that it sees
every message and takes none from anyone; with --group (a UUID) it shares the stream with the
other subscribers of that group, as a bridge instance does.

` + peersHelp + `

Output: --format json (the default when stdout is not a terminal) prints one JSON object per
line, the form 'bridge send --records' reads; pretty (the default on a terminal) is for
reading. Exit codes: 0 when -n messages were printed or on SIGINT/SIGTERM, 1 when the server
cannot be reached, the topic does not exist, or --timeout passed before -n messages, 2 for
bad arguments.`

type tailFlags struct {
	peers         peerFlags
	group         string
	fromBeginning bool
	count         int
	format        string
	timeout       time.Duration
}

func cmdTail(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tail", "kafka TOPIC | streamsea STREAM [flags]", tailHelp, stderr)
	var f tailFlags
	f.peers.register(fs)
	fs.StringVar(&f.group, "group", "", "Kafka: consume as this consumer group and commit; stream-sea: subscribe with this group id (a UUID)")
	fs.BoolVar(&f.fromBeginning, "from-beginning", false, "Kafka: start at the earliest retained record instead of new records only")
	fs.IntVar(&f.count, "n", 0, "stop after this many messages (0: until interrupted)")
	fs.StringVar(&f.format, "format", "", "json or pretty (default: pretty on a terminal, else json)")
	fs.DurationVar(&f.timeout, "timeout", 0, "give up after this long (0: never); with -n, fewer messages by then is an error")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	system, name, err := systemArg("tail", pos)
	if err != nil {
		return err
	}
	if f.count < 0 {
		return usageError{fmt.Errorf("tail: -n %d: want 0 or more", f.count)}
	}
	if system == "streamsea" && f.fromBeginning {
		return usageError{errors.New("tail: --from-beginning is for Kafka: stream-sea keeps no backlog to read from")}
	}
	printer, err := newPrinter(stdout, f.format)
	if err != nil {
		return err
	}
	cfg, hint, err := f.peers.load()
	if err != nil {
		return err
	}
	logger, err := newLogger(stderr, "text", "warn")
	if err != nil {
		return err
	}
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	printed := 0
	print := func(r inspect.Record) error {
		printed++
		return printer.Print(r)
	}
	switch system {
	case "kafka":
		conn, err := bridge.KafkaConn(cfg, f.peers.connection)
		if err != nil {
			return usageError{err}
		}
		ready := func() {
			from := "new records only"
			if f.fromBeginning {
				from = "from the beginning"
			}
			fmt.Fprintf(stderr, "tail: reading kafka topic %q at %v (%s); Ctrl-C to stop\n", name, conn.Brokers, from)
		}
		err = inspect.TailKafka(ctx, conn, inspect.KafkaTail{Topic: name, Group: f.group, FromBeginning: f.fromBeginning,
			Count: f.count, Ready: ready}, print)
		if err != nil {
			return withHint(err, hint)
		}
	default:
		opts, err := bridge.StreamseaSubscriber(cfg, f.peers.connection, nil)
		if err != nil {
			return usageError{err}
		}
		ready := func() {
			fmt.Fprintf(stderr, "tail: subscribed to stream-sea stream %q at %s; Ctrl-C to stop\n", name, opts.URL)
		}
		err = inspect.TailStreamsea(ctx, opts, inspect.StreamseaTail{Stream: name, Group: f.group, Count: f.count, Ready: ready},
			logger, print)
		if err != nil {
			return withHint(err, hint)
		}
	}
	if f.count > 0 && printed < f.count && f.timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("tail: %d of %d message(s) within --timeout %v", printed, f.count, f.timeout)
	}
	return nil
}

// newPrinter returns a printer of format; "" chooses pretty for a terminal, else json.
func newPrinter(out io.Writer, format string) (inspect.Printer, error) {
	switch format {
	case inspect.FormatJSON, inspect.FormatPretty:
	case "":
		format = inspect.FormatJSON
		if f, ok := out.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = inspect.FormatPretty
			}
		}
	default:
		return inspect.Printer{}, usageError{fmt.Errorf("--format %q: want json or pretty", format)}
	}
	return inspect.Printer{Out: out, Format: format}, nil
}

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/seabridge/seabridge/internal/bridge"
	"github.com/seabridge/seabridge/internal/inspect"
)

const sendHelp = `Send JSON lines, from stdin or --file, to a Kafka topic or a stream-sea stream: one message per
non-blank line, the line as its value (a stream-sea message must be a JSON object). Kafka
records are acknowledged by all in-sync replicas; --key and --header set the key and headers of
every record, keyed records go where the Java producer puts them (murmur2). stream-sea
messages are published over the REST API in batches.

With --records each line is a record as 'bridge tail --format json' prints it,
{"key": "...", "headers": {"h": "v"}, "value": ...}: its key and headers are used (Kafka) and
its value is sent (a JSON string value is sent as its text). So that
  bridge tail kafka seabridge.dlq --from-beginning -n 10 | bridge send kafka retry.topic --records
sends dead letters on, with their headers.

` + peersHelp + `

The topic or stream must exist (bridge dev creates the topics its config names; stream-sea
creates a stream at its first publish). The first line that cannot be sent stops the command
with exit code 1 and an error naming the line: everything before it was sent, nothing after.
A line that is not JSON is such an error too. On success it prints how many were sent on
stderr.`

type sendFlags struct {
	peers   peerFlags
	file    string
	key     string
	headers headerFlags
	records bool
}

// headerFlags collects repeated --header K=V flags.
type headerFlags []inspect.Header

func (h *headerFlags) String() string { return "" }

func (h *headerFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q: want KEY=VALUE", v)
	}
	*h = append(*h, inspect.Header{Key: k, Value: []byte(val)})
	return nil
}

func cmdSend(ctx context.Context, args []string, stdin io.Reader, stderr io.Writer) error {
	fs := newFlagSet("send", "kafka TOPIC | streamsea STREAM [flags] < lines.jsonl", sendHelp, stderr)
	var f sendFlags
	f.peers.register(fs)
	fs.StringVar(&f.file, "file", "", "read the lines from this file instead of stdin")
	fs.StringVar(&f.key, "key", "", "Kafka: the key of every record (default: none)")
	fs.Var(&f.headers, "header", "Kafka: a header KEY=VALUE of every record (repeatable)")
	fs.BoolVar(&f.records, "records", false, "each line is a record {\"key\", \"headers\", \"value\"} as bridge tail prints it")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	system, name, err := systemArg("send", pos)
	if err != nil {
		return err
	}
	if system == "streamsea" && (f.key != "" || len(f.headers) > 0) {
		return usageError{fmt.Errorf("send: --key and --header are for Kafka: a stream-sea message is its JSON payload only")}
	}
	if f.records && (f.key != "" || len(f.headers) > 0) {
		return usageError{fmt.Errorf("send: with --records each line carries its own key and headers; drop --key and --header")}
	}
	in := stdin
	if f.file != "" {
		file, err := os.Open(f.file)
		if err != nil {
			return usageError{fmt.Errorf("send: %w", err)}
		}
		defer file.Close()
		in = file
	}
	cfg, hint, err := f.peers.load()
	if err != nil {
		return err
	}
	var sent int
	switch system {
	case "kafka":
		conn, err := bridge.KafkaConn(cfg, f.peers.connection)
		if err != nil {
			return usageError{err}
		}
		s := inspect.KafkaSend{Topic: name, Headers: f.headers, Records: f.records}
		if f.key != "" {
			s.Key = []byte(f.key)
		}
		sent, err = inspect.SendKafka(ctx, conn, s, in)
		if err != nil {
			return withHint(fmt.Errorf("send: %d sent, then: %w", sent, err), hint)
		}
		fmt.Fprintf(stderr, "sent %d message(s) to kafka topic %q at %v\n", sent, name, conn.Brokers)
	default:
		client, err := bridge.StreamseaClient(cfg, f.peers.connection, version)
		if err != nil {
			return usageError{err}
		}
		defer client.CloseIdleConnections()
		sent, err = inspect.SendStreamsea(ctx, client, name, f.records, in)
		if err != nil {
			return withHint(fmt.Errorf("send: %d sent, then: %w", sent, err), hint)
		}
		fmt.Fprintf(stderr, "sent %d message(s) to stream-sea stream %q at %s\n", sent, name, cfg.Streamsea[f.peers.connection].URL)
	}
	return nil
}

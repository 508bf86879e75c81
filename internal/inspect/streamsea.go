package inspect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/seabridge/seabridge/internal/streamsea"
)

// StreamseaTail says what TailStreamsea reads.
type StreamseaTail struct {
	Stream string
	// Group is the subscription's group id (an RFC 4122 UUID): the tail then shares the
	// stream's messages with every other subscriber of that group, taking some from them.
	// Empty: a group of its own, so that it sees every message and takes none from anyone.
	Group string
	Count int    // stop after this many messages; 0: until ctx is done
	Ready func() // called once, when the subscription is confirmed
}

// TailStreamsea prints the messages published to a stream from the moment it is subscribed
// (stream-sea keeps no backlog) until ctx is done or Count were printed. opts gives the
// connection; its Subscriptions are replaced. A first connection that fails (unreachable
// server, refused credentials or subscription) is an error at once; a connection lost later
// is reconnected, and what is published meanwhile is not seen. It ends the connection with
// the closing handshake (streamsea.Subscriber.Stop: a close frame 1000, then reading until
// the server's answer, at most opts.CloseWait); what arrives meanwhile is not printed.
func TailStreamsea(ctx context.Context, opts streamsea.SubscriberOptions, t StreamseaTail, logger *slog.Logger, print func(Record) error) error {
	group := t.Group
	if group == "" {
		group = uuid.NewString()
	}
	opts.Subscriptions = []streamsea.Subscription{{Stream: t.Stream, GroupID: group}}
	// The subscriber runs on past ctx: its end is Stop's closing handshake. runCtx ends only
	// when the first connection fails, or when the handshake is over.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var (
		once     sync.Once
		firstErr error // the failure of the first connection, set before cancel
	)
	connected := make(chan struct{})
	opts.Hooks.OnConnect = func() { once.Do(func() { close(connected) }) }
	opts.Hooks.OnReconnectWait = func(_ int, _ time.Duration, err error) {
		select {
		case <-connected:
		default:
			firstErr = err
			cancel()
		}
	}
	sub, err := streamsea.NewSubscriber(opts, logger)
	if err != nil {
		return err
	}
	runErr := make(chan error, 1)
	go func() { runErr <- sub.Run(runCtx) }()
	defer func() {
		sub.Stop()
		// Released at once, what the handshake reads never holds the reading up.
		for {
			d, err := sub.Next(runCtx)
			if err != nil {
				break
			}
			sub.Release(d)
		}
		<-runErr
	}()
	select {
	case <-connected:
		if t.Ready != nil {
			t.Ready()
		}
	case <-ctx.Done():
		return nil
	case err := <-runErr:
		runErr <- err
		if firstErr != nil {
			return fmt.Errorf("stream-sea %s: %w", opts.URL, firstErr)
		}
		if err != nil {
			return fmt.Errorf("stream-sea %s: %w", opts.URL, err)
		}
		return nil
	}
	for n := 0; t.Count == 0 || n < t.Count; n++ {
		d, err := sub.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, streamsea.ErrSubscriberStopped) {
				return nil
			}
			return fmt.Errorf("stream-sea %s: %w", opts.URL, err)
		}
		at := d.ReceivedAt
		r := Record{Stream: d.Stream, Time: &at}
		r.setValue(d.Payload)
		sub.Release(d)
		if err := print(r); err != nil {
			return err
		}
	}
	return nil
}

// Bounds of one publish request of SendStreamsea.
const (
	publishBatch      = 500
	publishBatchBytes = 1 << 20
)

// SendStreamsea publishes every JSON line of in (with records, the value of each Record) to
// stream over the REST API, in batches. When stream-sea refuses a batch (an invalid payload,
// a missing stream), its lines are published one at a time to name the first line refused;
// everything before that line was published, nothing after it. It returns how many it
// published.
func SendStreamsea(ctx context.Context, client *streamsea.Client, stream string, records bool, in io.Reader) (int, error) {
	lines := newLineReader(in, records)
	sent := 0
	for {
		batch, readErr := readPublishBatch(lines)
		if len(batch) > 0 {
			n, err := publish(ctx, client, stream, batch)
			sent += n
			if err != nil {
				return sent, err
			}
		}
		if readErr == io.EOF {
			return sent, nil
		}
		if readErr != nil {
			return sent, readErr
		}
	}
}

// readPublishBatch reads up to publishBatch messages of at most publishBatchBytes together
// (a larger single message is a batch of its own).
func readPublishBatch(lines *lineReader) ([]message, error) {
	var out []message
	size := 0
	for len(out) < publishBatch && size < publishBatchBytes {
		m, err := lines.next()
		if err != nil {
			return out, err
		}
		if len(m.value) == 0 || m.value[0] != '{' || !json.Valid(m.value) {
			return out, &InputError{Line: m.line, Err: fmt.Errorf("a stream-sea message is a JSON object, not %.80s", m.value)}
		}
		out = append(out, m)
		size += len(m.value)
	}
	return out, nil
}

// publish publishes batch in one request; when it is refused for good, one message at a time
// up to the first one refused. It returns how many were published.
func publish(ctx context.Context, client *streamsea.Client, stream string, batch []message) (int, error) {
	payloads := make([][]byte, len(batch))
	for i, m := range batch {
		payloads[i] = m.value
	}
	err := client.PublishBatch(ctx, stream, payloads)
	if err == nil {
		return len(batch), nil
	}
	var api *streamsea.APIError
	if !errors.As(err, &api) || api.Status >= 500 || api.Status == 429 || len(batch) == 1 {
		return 0, fmt.Errorf("%s: %w", lineRange(batch[0].line, batch[len(batch)-1].line), err)
	}
	for i, m := range batch {
		if err := client.Publish(ctx, stream, m.value); err != nil {
			return i, fmt.Errorf("line %d: %w", m.line, err)
		}
	}
	return len(batch), nil // refused as a batch, accepted one by one
}

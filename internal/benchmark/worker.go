package benchmark

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/seabridge/seabridge/internal/config"
	"github.com/seabridge/seabridge/internal/streamsea"
)

// Roles of a worker: the raw clients whose limits the bridge is compared with. Each runs as its
// own process (bridge bench --worker SPEC), so that its CPU and memory are its own.
const (
	roleKafkaProducer     = "kafka-producer"    // bare kafka-go Writer with the Kafka sink's defaults
	roleGroupReader       = "group-reader"      // bare kafka-go group reader: FetchMessage + CommitMessages
	roleWebsocketReader   = "websocket-reader"  // bare websocket reader of a stream
	roleBatchedPublisher  = "batched-publisher" // PublishBatch calls of Batch messages, InFlight at once
	workerCommitInterval  = time.Second         // the group reader commits like the Kafka source's default
	workerProgressTimeout = 10 * time.Minute    // a worker gives up on its job after this
)

// WorkerSpec is the job of one worker process, passed as JSON in --worker.
type WorkerSpec struct {
	Role     string   `json:"role"`
	Brokers  []string `json:"brokers,omitempty"`
	Topic    string   `json:"topic,omitempty"`
	Group    string   `json:"group,omitempty"`
	URL      string   `json:"url,omitempty"`
	Stream   string   `json:"stream,omitempty"`
	Messages int      `json:"messages"`
	Batch    int      `json:"batch,omitempty"`
	InFlight int      `json:"inFlight,omitempty"`
	Gzip     bool     `json:"gzip,omitempty"`
}

// workerEvent is one line a worker writes to its stdout. ready: connected, about to work;
// first: the first message arrived (readers); done: every message was sent and acknowledged
// (senders) or arrived (readers); error: the job failed.
type workerEvent struct {
	Event    string `json:"event"`
	At       int64  `json:"at,omitempty"` // unix nanos
	Messages int64  `json:"messages,omitempty"`
	Error    string `json:"error,omitempty"`
}

// RunWorker runs the job described by specJSON, reporting its events as JSON lines on out, and
// returns once the job is done and in has been closed (the bench process closes it once it
// has read the worker's counters), or ctx ends. A failed job is reported as an error event and
// returned.
func RunWorker(ctx context.Context, specJSON string, in io.Reader, out io.Writer, logger *slog.Logger) error {
	var spec WorkerSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		return fmt.Errorf("%w: worker spec: %w", ErrBadOptions, err)
	}
	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, in)
		close(eof)
	}()
	ctx, cancel := context.WithTimeout(ctx, workerProgressTimeout)
	defer cancel()
	w := &worker{spec: spec, out: json.NewEncoder(out), logger: logger}
	err := w.run(ctx)
	if err != nil {
		w.emit(workerEvent{Event: "error", Error: err.Error()})
		return err
	}
	select {
	case <-eof:
	case <-ctx.Done():
	}
	return nil
}

type worker struct {
	spec   WorkerSpec
	mu     sync.Mutex
	out    *json.Encoder
	logger *slog.Logger
}

func (w *worker) emit(e workerEvent) {
	if e.At == 0 && e.Event != "error" {
		e.At = time.Now().UnixNano()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_ = w.out.Encode(e)
}

func (w *worker) run(ctx context.Context) error {
	s := w.spec
	if s.Messages <= 0 {
		return fmt.Errorf("%w: worker: messages must be positive", ErrBadOptions)
	}
	switch s.Role {
	case roleKafkaProducer:
		return w.produce(ctx)
	case roleGroupReader:
		return w.groupRead(ctx)
	case roleWebsocketReader:
		return w.websocketRead(ctx)
	case roleBatchedPublisher:
		return w.publish(ctx)
	default:
		return fmt.Errorf("%w: worker: unknown role %q", ErrBadOptions, s.Role)
	}
}

// produce writes Messages payloads in synchronous batches of Batch, like the Kafka sink.
func (w *worker) produce(ctx context.Context) error {
	transport := &kafka.Transport{DialTimeout: 5 * time.Second, MetadataTTL: time.Second}
	defer transport.CloseIdleConnections()
	writer := sinkLikeWriter(w.spec.Brokers, w.spec.Topic, transport)
	defer func() { _ = writer.Close() }()
	w.emit(workerEvent{Event: "ready"})
	if err := produce(ctx, writer, 0, w.spec.Messages, w.spec.Batch); err != nil {
		return err
	}
	w.emit(workerEvent{Event: "done", Messages: int64(w.spec.Messages)})
	return nil
}

// sinkLikeWriter is a producer with the Kafka sink's default settings.
func sinkLikeWriter(brokers []string, topic string, transport *kafka.Transport) *kafka.Writer {
	d := config.DefaultSink(config.EndpointKafka)
	return &kafka.Writer{
		Addr: kafka.TCP(brokers...), Topic: topic, Transport: transport, Balancer: &kafka.Hash{},
		RequiredAcks: kafka.RequireAll, BatchSize: d.BatchSize, BatchBytes: int64(d.BatchBytes),
		BatchTimeout: d.BatchTimeout, WriteTimeout: d.WriteTimeout, MaxAttempts: d.MaxAttempts,
	}
}

// produce writes n payloads (sequence numbers from first) to w in synchronous batches of
// batch records, stamping each batch with the time it is handed to the writer.
func produce(ctx context.Context, w *kafka.Writer, first int64, n, batch int) error {
	payloads := newPayloadBatch(batch)
	msgs := make([]kafka.Message, batch)
	for sent := 0; sent < n; {
		k := min(batch, n-sent)
		for i, p := range payloads.fill(k, first+int64(sent), time.Now().UnixNano()) {
			msgs[i] = kafka.Message{Value: p}
		}
		if err := w.WriteMessages(ctx, msgs[:k]...); err != nil {
			return fmt.Errorf("produce after %d of %d: %w", sent, n, err)
		}
		sent += k
	}
	return nil
}

// groupRead consumes Topic in consumer group Group with the Kafka source's default fetch
// settings, committing the last fetched offset of each partition every second, as the
// bridge's source does once messages are acked.
func (w *worker) groupRead(ctx context.Context) error {
	d := config.DefaultSource(config.EndpointKafka)
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: w.spec.Brokers, GroupID: w.spec.Group, GroupTopics: []string{w.spec.Topic},
		MinBytes: d.MinBytes, MaxBytes: d.MaxBytes, MaxWait: d.MaxWait, StartOffset: kafka.FirstOffset,
		CommitInterval: 0, HeartbeatInterval: d.HeartbeatInterval, SessionTimeout: d.SessionTimeout,
		RebalanceTimeout: d.RebalanceTimeout, JoinGroupBackoff: d.JoinGroupBackoff,
	})
	defer func() { _ = r.Close() }()
	var mu sync.Mutex
	last := map[int]kafka.Message{}
	commit := func(ctx context.Context) error {
		mu.Lock()
		msgs := make([]kafka.Message, 0, len(last))
		for _, m := range last {
			msgs = append(msgs, m)
		}
		clear(last)
		mu.Unlock()
		if len(msgs) == 0 {
			return nil
		}
		return r.CommitMessages(ctx, msgs...)
	}
	stopCommits := make(chan struct{})
	committer := sync.WaitGroup{}
	committer.Go(func() {
		t := time.NewTicker(workerCommitInterval)
		defer t.Stop()
		for {
			select {
			case <-stopCommits:
				return
			case <-t.C:
				if err := commit(ctx); err != nil && ctx.Err() == nil {
					w.logger.Warn("group reader: commit failed", "err", err)
				}
			}
		}
	})
	defer func() {
		close(stopCommits)
		committer.Wait()
	}()
	w.emit(workerEvent{Event: "ready"})
	var n int64
	for n < int64(w.spec.Messages) {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			return fmt.Errorf("group reader: fetch after %d: %w", n, err)
		}
		if st, ok := readStamp(m.Value); ok && st.seq < 0 {
			continue
		}
		n++
		if n == 1 {
			w.emit(workerEvent{Event: "first"})
		}
		mu.Lock()
		last[m.Partition] = m
		mu.Unlock()
	}
	w.emit(workerEvent{Event: "done", Messages: n})
	return commit(ctx)
}

// websocketRead subscribes to Stream and reads until Messages have arrived.
func (w *worker) websocketRead(ctx context.Context) error {
	conn, err := streamsea.DialConn(ctx, streamsea.SubscriberOptions{
		URL: w.spec.URL, ClientID: clientID, ClientSecret: clientSecret,
		Subscriptions: []streamsea.Subscription{{Stream: w.spec.Stream, GroupID: benchGroup}},
	}, w.logger)
	if err != nil {
		return fmt.Errorf("websocket reader: %w", err)
	}
	defer func() { _ = conn.Close() }()
	w.emit(workerEvent{Event: "ready"})
	var n int64
	var batch []streamsea.Delivery
	for n < int64(w.spec.Messages) {
		batch, err = conn.ReadDelivery(ctx, batch[:0])
		for _, d := range batch {
			if st, ok := readStamp(d.Payload); ok && st.seq < 0 {
				continue
			}
			n++
			if n == 1 {
				w.emit(workerEvent{Event: "first"})
			}
		}
		if err != nil && n < int64(w.spec.Messages) {
			return fmt.Errorf("websocket reader: after %d: %w", n, err)
		}
	}
	w.emit(workerEvent{Event: "done", Messages: n})
	return nil
}

// publish sends Messages payloads to Stream in PublishBatch calls of Batch, InFlight at once.
func (w *worker) publish(ctx context.Context) error {
	c, err := streamsea.NewClient(streamsea.ClientOptions{BaseURL: w.spec.URL, ClientID: clientID,
		ClientSecret: clientSecret, Timeout: time.Minute, Gzip: w.spec.Gzip})
	if err != nil {
		return fmt.Errorf("publisher: %w", err)
	}
	defer c.CloseIdleConnections()
	w.emit(workerEvent{Event: "ready"})
	if err := publishConcurrently(ctx, c, w.spec.Stream, 0, w.spec.Messages, w.spec.Batch, w.spec.InFlight); err != nil {
		return err
	}
	w.emit(workerEvent{Event: "done", Messages: int64(w.spec.Messages)})
	return nil
}

// publishConcurrently publishes n payloads (sequence numbers from first) to stream in batches
// of batch, inFlight PublishBatch calls at once, each batch stamped when it is built.
func publishConcurrently(ctx context.Context, c *streamsea.Client, stream string, first int64, n, batch, inFlight int) error {
	var next atomic.Int64
	batches := int64((n + batch - 1) / batch)
	errs := make([]error, max(inFlight, 1))
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for g := range errs {
		wg.Go(func() {
			payloads := newPayloadBatch(batch)
			for {
				b := next.Add(1) - 1
				if b >= batches || ctx.Err() != nil {
					return
				}
				start := b * int64(batch)
				k := int(min(int64(batch), int64(n)-start))
				if err := c.PublishBatch(ctx, stream, payloads.fill(k, first+start, time.Now().UnixNano())); err != nil {
					errs[g] = fmt.Errorf("publish batch %d of %d: %w", b, batches, err)
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

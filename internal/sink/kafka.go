package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/seabridge/seabridge/internal/kafkautil"
	"github.com/seabridge/seabridge/internal/pipeline"
)

// Headers added to produced records when KafkaOptions.AddHeaders is set.
const (
	HeaderSourceStream = "seabridge-source-stream"
	HeaderReceivedAt   = "seabridge-received-at"
	HeaderInstance     = "seabridge-instance"
)

// Defaults applied by NewKafka to zero-valued options.
const (
	defaultBatchSize  = 500
	defaultBatchBytes = 1 << 20
	// defaultBatchTimeout is kafka-go's linger, as short as it goes (kafka-go reads zero as 1s).
	// Write is synchronous and never concurrent, so no record joins a partition batch after
	// WriteMessages has handed over the runner's batch: any wait only delays the produce.
	defaultBatchTimeout = time.Microsecond
	defaultWriteTimeout = 10 * time.Second
	defaultMaxAttempts  = 3
	// missingTopicChecks is how many consecutive Writes must find a routed topic missing
	// before its messages are rejected as poison instead of retried.
	missingTopicChecks = 3
	// maxKnownTopics bounds the routed topics a sink remembers (see remember).
	maxKnownTopics = 10000
)

// KafkaOptions configures a Kafka producer sink.
type KafkaOptions struct {
	Pipeline     string
	Conn         kafkautil.Conn
	Topic        string        // default topic; Message.TargetTopic overrides it
	RequiredAcks string        // "all" (default), "one" or "none"
	Compression  string        // "", "none", "gzip", "snappy", "lz4" or "zstd"
	BatchSize    int           // records per produce request and partition; default 500 (the runner's batch)
	BatchBytes   int64         // bytes per produce request and partition; default 1 MiB
	BatchTimeout time.Duration // kafka-go's wait for a partition batch short of BatchSize; default 1µs (see defaultBatchTimeout)
	WriteTimeout time.Duration // default 10s
	MaxAttempts  int           // produce attempts inside one Write; default 3
	InstanceID   string
	AddHeaders   bool
	// Partitioner places records with a key: PartitionerMurmur2 (the default), PartitionerCRC32,
	// PartitionerFNV1a or PartitionerRoundRobin (keys ignored).
	Partitioner string
}

// Partitioners: where a record goes, by the client whose placement they reproduce.
const (
	// PartitionerMurmur2 places a keyed record where the Java producer (so Kafka Streams,
	// Kafka Connect and kafka-console-producer) and franz-go do: murmur2(key) made positive,
	// modulo the partition count. Records without a key go to a random partition.
	PartitionerMurmur2 = "murmur2"
	// PartitionerCRC32 is librdkafka's default (consistent_random), used by confluent-kafka
	// for Python, Go, .NET and by kcat: CRC-32 of the key; records with an empty or no key go
	// to a random partition.
	PartitionerCRC32 = "crc32"
	// PartitionerFNV1a is Sarama's default hash partitioner (and kafka-go's Hash): FNV-1a of
	// the key; records without a key go round robin.
	PartitionerFNV1a = "fnv1a"
	// PartitionerRoundRobin ignores keys and spreads records over the partitions in turn.
	PartitionerRoundRobin = "round_robin"
)

// Kafka is a pipeline.Sink producing to Kafka with one kafka-go Writer. Records are placed by
// the configured partitioner (see the Partitioner constants): by default, a record with a key
// lands on the partition the Java producer would choose for that key.
//
// Write is synchronous: it returns nil once every record is acknowledged with the configured
// acks. When some records fail, the batch is reported failed and the runner writes it again;
// the records that were acknowledged are not produced again (see Write). A write that failed
// as a whole (a timeout, a lost connection) may still have succeeded on the broker, so Kafka
// may hold duplicates (at-least-once). Connect, Write and Close must not be called
// concurrently.
type Kafka struct {
	opts    KafkaOptions
	logger  *slog.Logger
	metrics kafkaWriteMetrics

	mu        sync.Mutex // guards the connection fields against Close
	transport *kafka.Transport
	client    *kafka.Client
	writer    *kafka.Writer
	conns     *kafkautil.Conns // the transport's connections, aborted by a Close that runs out of time

	topics  map[string]topicState // topics seen, by name
	writes  uint64                // Write calls so far
	records []kafka.Message
	index   []int // index into the batch of each of records

	// The batch of the last Write that failed transiently, and which of its records were
	// acknowledged, so that writing it again skips them (see Write).
	pending []*pipeline.Message
	acked   []bool
	attempt writeAttempt

	// Header values shared by records: the writer only reads them.
	instance    []byte
	stream      string
	streamBytes []byte
}

var (
	_ pipeline.Sink         = (*Kafka)(nil)
	_ pipeline.PrefixWriter = (*Kafka)(nil)
)

// topicState is what a sink knows of one topic.
type topicState struct {
	misses    int    // consecutive Writes that found it missing; 0: it exists
	checkedIn uint64 // the Write that checked it last
}

// NewKafka validates opts, applies defaults and returns an unconnected sink. m may be nil
// (metrics are then kept unregistered).
func NewKafka(opts KafkaOptions, logger *slog.Logger, m *KafkaSinkMetrics) (*Kafka, error) {
	if m == nil {
		m = NewKafkaSinkMetrics(nil)
	}
	return newKafka(opts, logger.With("component", "kafka-sink"), m.forSink(opts.Pipeline))
}

func newKafka(opts KafkaOptions, logger *slog.Logger, m kafkaWriteMetrics) (*Kafka, error) {
	if err := validateKafkaOptions(&opts); err != nil {
		return nil, fmt.Errorf("kafka sink %q: %w", opts.Pipeline, err)
	}
	return &Kafka{
		opts:     opts,
		logger:   logger.With("pipeline", opts.Pipeline),
		metrics:  m,
		topics:   make(map[string]topicState),
		instance: []byte(opts.InstanceID),
	}, nil
}

func validateKafkaOptions(o *KafkaOptions) error {
	if err := o.Conn.Validate(); err != nil {
		return err
	}
	if _, err := requiredAcks(o.RequiredAcks); err != nil {
		return err
	}
	if _, err := compression(o.Compression); err != nil {
		return err
	}
	if _, err := balancer(o.Partitioner); err != nil {
		return err
	}
	if o.BatchSize < 0 || o.BatchBytes < 0 || o.BatchTimeout < 0 || o.WriteTimeout < 0 || o.MaxAttempts < 0 {
		return errors.New("negative batch size, batch bytes, timeout or attempts")
	}
	o.BatchSize = orDefault(o.BatchSize, defaultBatchSize)
	o.BatchBytes = orDefault(o.BatchBytes, defaultBatchBytes)
	o.BatchTimeout = orDefault(o.BatchTimeout, defaultBatchTimeout)
	o.WriteTimeout = orDefault(o.WriteTimeout, defaultWriteTimeout)
	o.MaxAttempts = orDefault(o.MaxAttempts, defaultMaxAttempts)
	return nil
}

func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

func requiredAcks(s string) (kafka.RequiredAcks, error) {
	switch s {
	case "", "all":
		return kafka.RequireAll, nil
	case "one":
		return kafka.RequireOne, nil
	case "none":
		return kafka.RequireNone, nil
	}
	return 0, fmt.Errorf("required acks %q: want all, one or none", s)
}

func balancer(s string) (kafka.Balancer, error) {
	switch s {
	case "", PartitionerMurmur2:
		return kafka.Murmur2Balancer{}, nil
	case PartitionerCRC32:
		return kafka.CRC32Balancer{}, nil
	case PartitionerFNV1a:
		return &kafka.Hash{}, nil
	case PartitionerRoundRobin:
		return &kafka.RoundRobin{}, nil
	}
	return nil, fmt.Errorf("partitioner %q: want %s, %s, %s or %s", s,
		PartitionerMurmur2, PartitionerCRC32, PartitionerFNV1a, PartitionerRoundRobin)
}

func compression(s string) (kafka.Compression, error) {
	switch s {
	case "", "none":
		return 0, nil
	case "gzip":
		return kafka.Gzip, nil
	case "snappy":
		return kafka.Snappy, nil
	case "lz4":
		return kafka.Lz4, nil
	case "zstd":
		return kafka.Zstd, nil
	}
	return 0, fmt.Errorf("compression %q: want none, gzip, snappy, lz4 or zstd", s)
}

// Connect checks the cluster and that the default topic exists; bad credentials and a missing
// default topic are fatal (wrapped with pipeline.ErrFatal). Connect on a connected sink does
// nothing.
func (k *Kafka) Connect(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.writer != nil {
		return nil
	}
	if err := k.opts.Conn.Check(ctx); err != nil {
		return fatalIf(errors.Is(err, kafkautil.ErrAuth), fmt.Errorf("kafka sink %q: %w", k.opts.Pipeline, err))
	}
	client, transport, err := k.opts.Conn.Client()
	if err != nil {
		return fmt.Errorf("%w: kafka sink %q: %w", pipeline.ErrFatal, k.opts.Pipeline, err)
	}
	conns := kafkautil.NewConns()
	conns.TrackTransport(transport)
	if k.opts.Topic != "" {
		if err := kafkautil.CheckTopics(ctx, client, k.opts.Topic); err != nil {
			transport.CloseIdleConnections()
			fatal := errors.Is(err, kafkautil.ErrTopicMissing) || errors.Is(err, kafkautil.ErrAuth)
			return fatalIf(fatal, fmt.Errorf("kafka sink %q: %w", k.opts.Pipeline, err))
		}
		k.topics[k.opts.Topic] = topicState{}
	}
	k.transport, k.client, k.writer, k.conns = transport, client, k.newWriter(transport), conns
	return nil
}

func fatalIf(fatal bool, err error) error {
	if fatal {
		return fmt.Errorf("%w: %w", pipeline.ErrFatal, err)
	}
	return err
}

func (k *Kafka) newWriter(t *kafka.Transport) *kafka.Writer {
	acks, _ := requiredAcks(k.opts.RequiredAcks)
	codec, _ := compression(k.opts.Compression)
	partitioner, _ := balancer(k.opts.Partitioner)
	logger := k.logger
	return &kafka.Writer{
		Addr:                   kafka.TCP(k.opts.Conn.Brokers...),
		Transport:              t,
		Balancer:               partitioner,
		RequiredAcks:           acks,
		Compression:            codec,
		BatchSize:              k.opts.BatchSize,
		BatchBytes:             k.opts.BatchBytes,
		BatchTimeout:           k.opts.BatchTimeout,
		WriteTimeout:           k.opts.WriteTimeout,
		ReadTimeout:            k.opts.WriteTimeout,
		MaxAttempts:            k.opts.MaxAttempts,
		AllowAutoTopicCreation: false,
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			logger.Warn("kafka writer: " + fmt.Sprintf(msg, args...))
		}),
	}
}

// Close closes the writer and its connections. kafka-go's Writer goes on producing a batch
// whose Write returned early (its context ended), for up to MaxAttempts × WriteTimeout, and
// closing it waits for that; Close waits only until ctx ends, then closes the sink's
// connections, which ends the produce, and returns within a fraction of a second with an
// error: those records may or may not be in Kafka (their Write already failed). Close is
// idempotent; a later Connect reconnects.
func (k *Kafka) Close(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.writer == nil {
		return nil
	}
	w, transport, conns := k.writer, k.transport, k.conns
	k.transport, k.client, k.writer, k.conns = nil, nil, nil, nil
	err := kafkautil.CloseWithin(ctx, conns, func() error {
		err := w.Close()
		transport.CloseIdleConnections()
		return err
	})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return &abandonedProduce{pipeline: k.opts.Pipeline, err: err}
	}
	return fmt.Errorf("kafka sink %q: close writer: %w", k.opts.Pipeline, err)
}

// abandonedProduce is Close's error when its budget ran out with a produce in flight; it
// wraps pipeline.ErrWriteAbandoned.
type abandonedProduce struct {
	pipeline string
	err      error
}

func (e *abandonedProduce) Error() string {
	return fmt.Sprintf("kafka sink %q: close: gave up on a produce in flight (its records may or may not be in Kafka): %v", e.pipeline, e.err)
}

func (e *abandonedProduce) Unwrap() []error { return []error{pipeline.ErrWriteAbandoned, e.err} }

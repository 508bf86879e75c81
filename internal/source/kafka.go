package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/seabridge/seabridge/internal/kafkautil"
	"github.com/seabridge/seabridge/internal/pipeline"
)

// Defaults applied by NewKafka to zero-valued options. The group timings are kafka-go's own
// defaults.
const (
	defaultCommitInterval         = time.Second
	defaultMaxInFlight            = 10000
	defaultMaxInFlightBytes       = DefaultStreamSeaMaxInFlightBytes
	defaultMaxWait                = 250 * time.Millisecond
	defaultMaxBytes               = 10 << 20
	defaultHeartbeatInterval      = 3 * time.Second
	defaultSessionTimeout         = 30 * time.Second
	defaultRebalanceTimeout       = 30 * time.Second
	defaultJoinGroupBackoff       = 5 * time.Second
	defaultPartitionWatchInterval = 5 * time.Second
)

// KafkaOptions configures a Kafka consumer-group source.
type KafkaOptions struct {
	Pipeline       string
	Conn           kafkautil.Conn
	Topics         []string
	GroupID        string
	StartOffset    string        // "earliest" (default) or "latest": where a partition with no commit starts
	CommitInterval time.Duration // default 1s
	MinBytes       int           // default 1
	MaxBytes       int           // per fetch and partition; default 10 MiB
	MaxWait        time.Duration // default 250ms
	MaxInFlight    int           // messages read and not yet acked before fetching waits; default 10000
	// MaxInFlightBytes bounds the bytes (key, value and headers) of those messages; default
	// 64 MiB. A message larger than it is fetched when nothing else is in flight.
	MaxInFlightBytes int64

	// Group protocol timings; zero keeps kafka-go's defaults (3s, 30s, 30s, 5s).
	HeartbeatInterval time.Duration
	SessionTimeout    time.Duration
	RebalanceTimeout  time.Duration
	JoinGroupBackoff  time.Duration
	// PartitionWatchInterval is how often the member checks the topics' partition counts; a
	// change starts a rebalance that assigns the new partitions. Default 5s.
	PartitionWatchInterval time.Duration
}

// Kafka is a pipeline.Source reading a set of topics as one member of a Kafka consumer group,
// with kafka-go's ConsumerGroup: each generation of the group assigns this member some
// partitions, and the source fetches each of them with its own reader until the generation
// ends (a rebalance: a member joined or left, or a topic's partition count changed).
//
// Delivery is at-least-once. Every fetched message is pending until its AckFunc is called. Per
// partition, only the offset after the longest prefix of fetched messages that are all acked
// is committed, through the generation that assigned the partition (so Kafka refuses it once
// the generation is over), every CommitInterval, when the generation ends and at Close. A nack
// leaves its offset uncommitted, and with it every later offset of that partition.
//
// When a generation ends the source stops fetching its partitions and drops the messages it
// fetched but had not handed to Read. It then waits, for at most half the smaller of
// SessionTimeout and RebalanceTimeout, for the messages Read returned to be acked or nacked,
// commits the acked prefix of each partition, and forgets the generation: acks that arrive
// later only free their in-flight slot, and nothing of that generation is committed again. The
// partition's next owner (this member or another) reads from the committed offset, so what
// was still in flight is read again: duplicates, never gaps. Close commits without waiting,
// within the deadline of its context.
//
// Fetching waits while MaxInFlight messages or MaxInFlightBytes are pending. Connect, Read and
// Close may be called from different goroutines; Read is not called concurrently with itself. AckFuncs, Connected
// and Owns may be called from any goroutine.
type Kafka struct {
	opts    KafkaOptions
	logger  *slog.Logger
	metrics kafkaPipelineMetrics

	mu   sync.Mutex
	sess *kafkaSession
}

var (
	_ pipeline.Source             = (*Kafka)(nil)
	_ pipeline.BatchSource        = (*Kafka)(nil)
	_ pipeline.ConnectionReporter = (*Kafka)(nil)
)

// NewKafka validates opts, applies defaults and returns an unconnected source. m may be nil
// (metrics are then kept unregistered).
func NewKafka(opts KafkaOptions, logger *slog.Logger, m *KafkaMetrics) (*Kafka, error) {
	if err := validateKafkaOptions(&opts); err != nil {
		return nil, fmt.Errorf("kafka source %q: %w", opts.Pipeline, err)
	}
	if m == nil {
		m = NewKafkaMetrics(nil)
	}
	return &Kafka{
		opts:    opts,
		logger:  logger.With("pipeline", opts.Pipeline, "component", "kafka-source"),
		metrics: m.forPipeline(opts.Pipeline),
	}, nil
}

func validateKafkaOptions(o *KafkaOptions) error {
	if err := o.Conn.Validate(); err != nil {
		return err
	}
	if len(o.Topics) == 0 || o.GroupID == "" {
		return errors.New("topics and group id are required")
	}
	switch o.StartOffset {
	case "", "earliest", "latest":
	default:
		return fmt.Errorf("start offset %q: want earliest or latest", o.StartOffset)
	}
	if o.MinBytes < 0 || o.MaxBytes < 0 || o.MaxInFlight < 0 || o.MaxInFlightBytes < 0 || o.CommitInterval < 0 {
		return errors.New("negative min bytes, max bytes, max in flight (bytes) or commit interval")
	}
	if o.HeartbeatInterval < 0 || o.SessionTimeout < 0 || o.RebalanceTimeout < 0 || o.JoinGroupBackoff < 0 || o.PartitionWatchInterval < 0 {
		return errors.New("negative consumer-group timing")
	}
	setDefault(&o.CommitInterval, defaultCommitInterval)
	setDefault(&o.MaxInFlight, defaultMaxInFlight)
	setDefault(&o.MaxInFlightBytes, defaultMaxInFlightBytes)
	setDefault(&o.MaxWait, defaultMaxWait)
	setDefault(&o.MaxBytes, defaultMaxBytes)
	setDefault(&o.MinBytes, 1)
	setDefault(&o.HeartbeatInterval, defaultHeartbeatInterval)
	setDefault(&o.SessionTimeout, defaultSessionTimeout)
	setDefault(&o.RebalanceTimeout, defaultRebalanceTimeout)
	setDefault(&o.JoinGroupBackoff, defaultJoinGroupBackoff)
	setDefault(&o.PartitionWatchInterval, defaultPartitionWatchInterval)
	if o.MinBytes > o.MaxBytes {
		return fmt.Errorf("min bytes %d exceeds max bytes %d", o.MinBytes, o.MaxBytes)
	}
	return nil
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// drainTimeout bounds how long a generation that ended waits for its messages to be settled
// before it commits: the member sends no heartbeats meanwhile, and must rejoin before the
// coordinator gives up on it (the session timeout) or on the rebalance (the rebalance timeout).
func (o *KafkaOptions) drainTimeout() time.Duration {
	return min(o.SessionTimeout, o.RebalanceTimeout) / 2
}

// Connect checks the cluster (bad credentials and missing topics are fatal) and starts joining
// the group. ctx bounds the check only; the group is joined in the background, and Connected
// reports false until the first generation. Connect on a connected source does nothing.
func (k *Kafka) Connect(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.sess != nil {
		return nil
	}
	if err := k.checkCluster(ctx); err != nil {
		return err
	}
	s, err := newKafkaSession(k.opts, k.logger, k.metrics)
	if err != nil {
		return fmt.Errorf("%w: kafka source %q: %w", pipeline.ErrFatal, k.opts.Pipeline, err)
	}
	k.sess = s
	return nil
}

func (k *Kafka) checkCluster(ctx context.Context) error {
	if err := k.opts.Conn.Check(ctx); err != nil {
		return fatalIf(errors.Is(err, kafkautil.ErrAuth), fmt.Errorf("kafka source %q: %w", k.opts.Pipeline, err))
	}
	client, transport, err := k.opts.Conn.Client()
	if err != nil {
		return fmt.Errorf("%w: kafka source %q: %w", pipeline.ErrFatal, k.opts.Pipeline, err)
	}
	defer transport.CloseIdleConnections()
	err = kafkautil.CheckTopics(ctx, client, k.opts.Topics...)
	if err != nil {
		fatal := errors.Is(err, kafkautil.ErrTopicMissing) || errors.Is(err, kafkautil.ErrAuth)
		return fatalIf(fatal, fmt.Errorf("kafka source %q: %w", k.opts.Pipeline, err))
	}
	return nil
}

func fatalIf(fatal bool, err error) error {
	if fatal {
		return fmt.Errorf("%w: %w", pipeline.ErrFatal, err)
	}
	return err
}

func (k *Kafka) session() *kafkaSession {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.sess
}

// Read blocks until a message is fetched, ctx is done, the source is closed
// (ErrNotConnected), or the group failed in a way retrying cannot fix (ErrFatal: credentials
// or authorization refused). It also blocks while MaxInFlight messages or MaxInFlightBytes are pending, and while
// the member has no partitions (between generations, or more members than partitions).
func (k *Kafka) Read(ctx context.Context) (*pipeline.Message, pipeline.AckFunc, error) {
	s := k.session()
	if s == nil {
		return nil, nil, fmt.Errorf("kafka source %q: %w", k.opts.Pipeline, pipeline.ErrNotConnected)
	}
	var msgs [1]*pipeline.Message
	var acks [1]pipeline.AckFunc
	if _, err := s.readBatch(ctx, msgs[:], acks[:]); err != nil {
		return nil, nil, fmt.Errorf("kafka source %q: %w", k.opts.Pipeline, err)
	}
	return msgs[0], acks[0], nil
}

// ReadBatch is Read for up to len(msgs) messages at once (pipeline.BatchSource): it waits as
// Read does for the first message, then returns every fetched message it can, at most
// len(msgs), without waiting for more.
func (k *Kafka) ReadBatch(ctx context.Context, msgs []*pipeline.Message, acks []pipeline.AckFunc) (int, error) {
	s := k.session()
	if s == nil {
		return 0, fmt.Errorf("kafka source %q: %w", k.opts.Pipeline, pipeline.ErrNotConnected)
	}
	n, err := s.readBatch(ctx, msgs, acks)
	if err != nil {
		return 0, fmt.Errorf("kafka source %q: %w", k.opts.Pipeline, err)
	}
	return n, nil
}

// Connected reports whether the member is in the group: true from its first generation until
// a join fails (coordinator unreachable, member evicted), and again once it has rejoined. A
// rebalance in progress does not count as disconnected.
func (k *Kafka) Connected() bool {
	s := k.session()
	return s != nil && s.joined.Load()
}

// Owns reports whether this member owns topic/partition in the group's current generation.
// Between generations it owns nothing.
func (k *Kafka) Owns(topic string, partition int) bool {
	s := k.session()
	return s != nil && s.owns(topicPartition{topic, partition})
}

// Close stops fetching, commits every offset whose messages are all acked, leaves the group
// and closes the readers. It does not wait for pending messages: they are redelivered to the
// next owner of their partition. ctx bounds all of it: when ctx ends first (a broker that
// does not answer, a join in progress), Close closes the source's connections, which ends
// every call waiting on them, and returns within a fraction of a second. Offsets acked and
// not committed (the commit failed or ran out of time) are logged and named in the error;
// their messages are read again, never skipped. Close is idempotent; a later Connect starts a
// new membership.
func (k *Kafka) Close(ctx context.Context) error {
	k.mu.Lock()
	s := k.sess
	k.sess = nil
	k.mu.Unlock()
	if s == nil {
		return nil
	}
	if err := s.close(ctx); err != nil {
		return fmt.Errorf("kafka source %q: close: %w", k.opts.Pipeline, err)
	}
	return nil
}

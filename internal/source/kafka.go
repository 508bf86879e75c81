package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/seabridge/seabridge/internal/kafkautil"
	"github.com/seabridge/seabridge/internal/pipeline"
)

// Defaults applied by NewKafka to zero-valued options.
const (
	defaultCommitInterval = time.Second
	defaultMaxInFlight    = 10000
	defaultMaxWait        = 250 * time.Millisecond
	defaultMaxBytes       = 10 << 20
)

// KafkaOptions configures a Kafka consumer-group source.
type KafkaOptions struct {
	Pipeline       string
	Conn           kafkautil.Conn
	Topics         []string
	GroupID        string
	StartOffset    string        // "earliest" (default) or "latest": where a group with no commit starts
	CommitInterval time.Duration // default 1s
	MinBytes       int           // default 1
	MaxBytes       int           // default 10 MiB
	MaxWait        time.Duration // default 250ms
	MaxInFlight    int           // messages read and not yet acked before Read blocks; default 10000

	// Group protocol timings; zero keeps kafka-go's defaults (3s, 30s, 30s, 5s).
	HeartbeatInterval time.Duration
	SessionTimeout    time.Duration
	RebalanceTimeout  time.Duration
	JoinGroupBackoff  time.Duration
}

// Kafka is a pipeline.Source reading a set of topics in a Kafka consumer group.
//
// Delivery is at-least-once. Every fetched message is pending until its AckFunc is called; a
// background committer commits, per partition, the offset after the longest prefix of fetched
// messages that are all acked, every CommitInterval and at Close. A nack leaves its offset
// uncommitted, and with it every later offset of that partition: the partition is redelivered
// from the nacked message after a restart or after a rebalance that moves it. Commits refused
// because of a rebalance keep their offsets pending for the next try, and the next owner of a
// revoked partition re-reads from the last committed offset. Read blocks while MaxInFlight
// messages are pending.
//
// Connect, Read and Close may be called from different goroutines; Read is not called
// concurrently with itself. AckFuncs may be called from any goroutine.
type Kafka struct {
	opts    KafkaOptions
	logger  *slog.Logger
	metrics kafkaPipelineMetrics

	mu   sync.Mutex
	sess *kafkaSession
}

var _ pipeline.Source = (*Kafka)(nil)

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
	if o.MinBytes < 0 || o.MaxBytes < 0 || o.MaxInFlight < 0 || o.CommitInterval < 0 {
		return errors.New("negative min bytes, max bytes, max in flight or commit interval")
	}
	if o.CommitInterval == 0 {
		o.CommitInterval = defaultCommitInterval
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = defaultMaxInFlight
	}
	if o.MaxWait == 0 {
		o.MaxWait = defaultMaxWait
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = defaultMaxBytes
	}
	if o.MinBytes == 0 {
		o.MinBytes = 1
	}
	if o.MinBytes > o.MaxBytes {
		return fmt.Errorf("min bytes %d exceeds max bytes %d", o.MinBytes, o.MaxBytes)
	}
	return nil
}

// Connect checks the cluster (bad credentials and missing topics are fatal) and joins the
// group. ctx bounds the check only; the group join continues in the background. Connect on a
// connected source does nothing.
func (k *Kafka) Connect(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.sess != nil {
		return nil
	}
	if err := k.checkCluster(ctx); err != nil {
		return err
	}
	reader, err := k.newReader()
	if err != nil {
		return fmt.Errorf("%w: kafka source %q: %w", pipeline.ErrFatal, k.opts.Pipeline, err)
	}
	k.sess = newKafkaSession(reader, k.opts, k.logger, k.metrics)
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

func (k *Kafka) newReader() (*kafka.Reader, error) {
	dialer, err := k.opts.Conn.Dialer()
	if err != nil {
		return nil, err
	}
	start := kafka.FirstOffset
	if k.opts.StartOffset == "latest" {
		start = kafka.LastOffset
	}
	logger := k.logger
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers:           k.opts.Conn.Brokers,
		GroupID:           k.opts.GroupID,
		GroupTopics:       k.opts.Topics,
		Dialer:            dialer,
		MinBytes:          k.opts.MinBytes,
		MaxBytes:          k.opts.MaxBytes,
		MaxWait:           k.opts.MaxWait,
		StartOffset:       start,
		CommitInterval:    0, // synchronous: the committer needs each commit's result
		HeartbeatInterval: k.opts.HeartbeatInterval,
		SessionTimeout:    k.opts.SessionTimeout,
		RebalanceTimeout:  k.opts.RebalanceTimeout,
		JoinGroupBackoff:  k.opts.JoinGroupBackoff,
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			logger.Warn("kafka reader: " + fmt.Sprintf(msg, args...))
		}),
	}), nil
}

func (k *Kafka) session() *kafkaSession {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.sess
}

// Read blocks until a message is fetched, ctx is done, or the source is closed or loses the
// group (ErrNotConnected). It also blocks while MaxInFlight messages are pending.
func (k *Kafka) Read(ctx context.Context) (*pipeline.Message, pipeline.AckFunc, error) {
	s := k.session()
	if s == nil {
		return nil, nil, fmt.Errorf("kafka source %q: %w", k.opts.Pipeline, pipeline.ErrNotConnected)
	}
	msg, ack, err := s.read(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("kafka source %q: %w", k.opts.Pipeline, err)
	}
	return msg, ack, nil
}

// Close stops fetching, commits every offset whose messages are all acked (bounded by ctx),
// leaves the group and closes the reader. Messages still pending are redelivered to the next
// owner of their partition. Close is idempotent; a later Connect starts a new session.
func (k *Kafka) Close(ctx context.Context) error {
	k.mu.Lock()
	s := k.sess
	k.sess = nil
	k.mu.Unlock()
	if s == nil {
		return nil
	}
	if err := s.close(ctx); err != nil {
		return fmt.Errorf("kafka source %q: %w", k.opts.Pipeline, err)
	}
	return nil
}

// kafkaSession is one reader's lifetime: from Connect to Close.
type kafkaSession struct {
	reader   *kafka.Reader
	tracker  *offsetTracker
	slots    chan struct{} // one element per pending message
	interval time.Duration
	logger   *slog.Logger
	metrics  kafkaPipelineMetrics

	stop      chan struct{} // closed by close: stops reads and the committer
	committed chan struct{} // closed when the committer has exited
}

func newKafkaSession(r *kafka.Reader, o KafkaOptions, logger *slog.Logger, m kafkaPipelineMetrics) *kafkaSession {
	s := &kafkaSession{
		reader:    r,
		tracker:   newOffsetTracker(),
		slots:     make(chan struct{}, o.MaxInFlight),
		interval:  o.CommitInterval,
		logger:    logger,
		metrics:   m,
		stop:      make(chan struct{}),
		committed: make(chan struct{}),
	}
	go s.commitLoop()
	return s
}

func (s *kafkaSession) read(ctx context.Context) (*pipeline.Message, pipeline.AckFunc, error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case <-s.stop:
		return nil, nil, pipeline.ErrNotConnected
	}
	m, err := s.reader.FetchMessage(ctx)
	if err != nil {
		<-s.slots
		return nil, nil, s.fetchError(ctx, err)
	}
	receivedAt := time.Now()
	a := &kafkaAck{sess: s, part: s.tracker.add(m.Topic, m.Partition, m.Offset), offset: m.Offset}
	s.metrics.fetched.Inc()
	s.metrics.pending.Inc()
	return &pipeline.Message{
		Key:        m.Key,
		Value:      m.Value,
		Headers:    convertHeaders(m.Headers),
		Topic:      m.Topic,
		Partition:  m.Partition,
		Offset:     m.Offset,
		Time:       m.Time,
		ReceivedAt: receivedAt,
	}, a.ack, nil
}

func (s *kafkaSession) fetchError(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, io.EOF):
		return pipeline.ErrNotConnected
	case kafkautil.IsAuthError(err):
		return fmt.Errorf("%w: %w: %w", pipeline.ErrFatal, kafkautil.ErrAuth, err)
	default:
		return fmt.Errorf("%w: fetch: %w", pipeline.ErrNotConnected, err)
	}
}

func convertHeaders(hs []kafka.Header) []pipeline.Header {
	if len(hs) == 0 {
		return nil
	}
	out := make([]pipeline.Header, len(hs))
	for i, h := range hs {
		out[i] = pipeline.Header{Key: h.Key, Value: h.Value}
	}
	return out
}

// kafkaAck is the ack state of one fetched message.
type kafkaAck struct {
	sess   *kafkaSession
	part   *partitionOffsets
	offset int64
	called atomic.Bool
}

// ack marks the message done (err == nil) or leaves it pending for redelivery (err != nil),
// and frees its in-flight slot.
func (a *kafkaAck) ack(_ context.Context, err error) error {
	if a.called.Swap(true) {
		return ErrAckedTwice
	}
	if err == nil {
		a.sess.tracker.done(a.part, a.offset)
	}
	a.sess.metrics.pending.Dec()
	<-a.sess.slots
	return nil
}

func (s *kafkaSession) commitLoop() {
	defer close(s.committed)
	ticker := time.NewTicker(s.interval)
	defer ticker.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ticker.C:
			ctx, cancel := context.WithTimeout(context.Background(), s.interval+5*time.Second)
			if err := s.commit(ctx); err != nil {
				s.logCommitError(err)
			}
			cancel()
		}
	}
}

// commit commits every partition's commit position that moved. On failure the positions stay
// pending and the next commit retries them.
func (s *kafkaSession) commit(ctx context.Context) error {
	positions := s.tracker.commitable()
	if len(positions) == 0 {
		return nil
	}
	msgs := make([]kafka.Message, len(positions))
	for i, c := range positions {
		// CommitMessages commits Offset+1: hand it the last done message.
		msgs[i] = kafka.Message{Topic: c.part.tp.topic, Partition: c.part.tp.partition, Offset: c.offset - 1}
	}
	if err := s.reader.CommitMessages(ctx, msgs...); err != nil {
		s.metrics.commitErrors.Inc()
		if isRebalanceError(err) {
			s.metrics.commitRebalance.Inc()
		} else {
			s.metrics.commitError.Inc()
		}
		return fmt.Errorf("commit offsets: %w", err)
	}
	s.metrics.commitOK.Inc()
	s.tracker.committed(positions)
	return nil
}

func (s *kafkaSession) logCommitError(err error) {
	if isRebalanceError(err) {
		s.logger.Info("offset commit refused during a rebalance; offsets stay pending", "err", err)
		return
	}
	s.logger.Warn("offset commit failed; offsets stay pending", "err", err)
}

func isRebalanceError(err error) bool {
	return errors.Is(err, kafka.RebalanceInProgress) || errors.Is(err, kafka.IllegalGeneration) ||
		errors.Is(err, kafka.UnknownMemberId) || errors.Is(err, kafka.NotCoordinatorForGroup)
}

// close stops reads and the committer, commits what is done (bounded by ctx) and closes the
// reader, which leaves the group.
func (s *kafkaSession) close(ctx context.Context) error {
	close(s.stop)
	<-s.committed
	commitErr := s.commit(ctx)
	closeErr := s.reader.Close()
	return errors.Join(commitErr, closeErr)
}

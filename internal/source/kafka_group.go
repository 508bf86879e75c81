package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/seabridge/seabridge/internal/kafkautil"
	"github.com/seabridge/seabridge/internal/pipeline"
)

// fetchWarnEvery is the least time between two warnings about failing fetches of one session.
const fetchWarnEvery = 10 * time.Second

// kafkaSession is one membership of the consumer group, from Connect to Close. Its group loop
// takes each generation the coordinator forms and runs it (see kafkaGeneration); Read takes the
// messages the generation's fetchers deliver.
type kafkaSession struct {
	opts    KafkaOptions
	logger  *slog.Logger
	metrics kafkaPipelineMetrics
	dialer  *kafka.Dialer
	group   *kafka.ConsumerGroup
	client  *kafka.Client    // metadata for the partition watch
	closeTr func()           // closes client's connections
	conns   *kafkautil.Conns // every connection of the session: the group's, the fetchers', client's
	counts  *assignedCounts  // partition counts of this member's last assignment as leader

	ctx    context.Context // cancelled by close
	cancel context.CancelFunc

	queue    *deliveryQueue // fetchers -> Read
	taken    []*kafkaRecord // Read's scratch
	loopDone chan struct{}  // closed when the group loop returned
	running  sync.WaitGroup // the functions started in generations

	failOnce sync.Once
	failed   chan struct{} // closed with failErr set: Read reports the fatal error
	failErr  error

	joined   atomic.Bool // in a generation, or rebalancing after one; false after a failed join
	lastWarn atomic.Int64

	mu       sync.Mutex
	current  *kafkaGeneration // the generation running now; nil between generations
	closeErr error            // the commit of the generation that Close ended
}

func newKafkaSession(o KafkaOptions, logger *slog.Logger, m kafkaPipelineMetrics) (*kafkaSession, error) {
	dialer, err := o.Conn.Dialer()
	if err != nil {
		return nil, err
	}
	start := kafka.FirstOffset
	if o.StartOffset == "latest" {
		start = kafka.LastOffset
	}
	client, transport, err := o.Conn.Client()
	if err != nil {
		return nil, err
	}
	conns := kafkautil.NewConns()
	conns.TrackDialer(dialer)
	conns.TrackTransport(transport)
	counts := &assignedCounts{}
	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                o.GroupID,
		Brokers:           o.Conn.Brokers,
		Dialer:            dialer,
		Topics:            o.Topics,
		GroupBalancers:    recordingBalancers(counts),
		HeartbeatInterval: o.HeartbeatInterval,
		SessionTimeout:    o.SessionTimeout,
		RebalanceTimeout:  o.RebalanceTimeout,
		JoinGroupBackoff:  o.JoinGroupBackoff,
		// The leader watches the partition counts itself (watchPartitions).
		WatchPartitionChanges: false,
		StartOffset:           start,
		// Failures that matter reach Next and are logged there; kafka-go's own account of
		// them is detail.
		ErrorLogger: debugLogger(logger, "kafka consumer group: "),
	})
	if err != nil {
		transport.CloseIdleConnections()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &kafkaSession{
		opts:     o,
		logger:   logger,
		metrics:  m,
		dialer:   dialer,
		group:    group,
		client:   client,
		closeTr:  transport.CloseIdleConnections,
		conns:    conns,
		counts:   counts,
		ctx:      ctx,
		cancel:   cancel,
		queue:    newDeliveryQueue(o.MaxInFlight, o.MaxInFlightBytes),
		loopDone: make(chan struct{}),
		failed:   make(chan struct{}),
	}
	go s.loop()
	return s, nil
}

func debugLogger(logger *slog.Logger, prefix string) kafka.Logger {
	return kafka.LoggerFunc(func(msg string, args ...any) {
		logger.Debug(prefix + strings.TrimSpace(fmt.Sprintf(msg, args...)))
	})
}

// loop runs one generation after the other until the session is closed. kafka-go's group
// joins, syncs, and backs off after a failed join by itself; Next hands over each generation
// once the previous one's functions have all returned.
func (s *kafkaSession) loop() {
	defer close(s.loopDone)
	for {
		gen, err := s.group.Next(s.ctx)
		switch {
		case err == nil:
			s.runGeneration(gen)
		case s.ctx.Err() != nil || errors.Is(err, kafka.ErrGroupClosed):
			return
		case isRebalanceError(err):
			s.logger.Info("consumer group is rebalancing; joining again", "group", s.opts.GroupID, "err", err)
		case kafkautil.IsAuthError(err):
			s.fail(fmt.Errorf("%w: join consumer group %q: %w: %w", pipeline.ErrFatal, s.opts.GroupID, kafkautil.ErrAuth, err))
		default:
			s.joined.Store(false)
			s.metrics.joinErrors.Inc()
			s.logger.Warn("joining the consumer group failed; retrying", "group", s.opts.GroupID,
				"after", s.opts.JoinGroupBackoff, "err", err)
		}
	}
}

// fail makes Read report err (wrapping pipeline.ErrFatal) from now on.
func (s *kafkaSession) fail(err error) {
	s.failOnce.Do(func() {
		s.failErr = err
		close(s.failed)
	})
}

// runGeneration starts the generation's committer and the fetchers of the partitions gen
// assigns to this member. Each runs until the generation ends. The committer starts first:
// kafka-go closes the generation's coordinator connection once the functions started so far
// have returned, so a committer started after a fetcher could find it closed when the
// generation ends early (a Close right after the first messages), and the acks of the
// messages that fetcher delivered would never be committed.
func (s *kafkaSession) runGeneration(gen *kafka.Generation) {
	g := newKafkaGeneration(s, gen)
	s.mu.Lock()
	s.current = g
	s.mu.Unlock()
	s.joined.Store(true)
	s.metrics.rebalances.Inc()
	s.metrics.assigned.Set(float64(len(g.parts)))
	s.logger.Info("joined the consumer group", "group", s.opts.GroupID, "generation", gen.ID,
		"member", gen.MemberID, "partitions", describePartitions(g.parts))
	s.start(gen, g.run)
	for _, p := range g.parts {
		s.start(gen, func(ctx context.Context) { g.fetch(ctx, p) })
	}
	if counts := s.counts.take(); counts != nil {
		s.start(gen, func(ctx context.Context) { g.watchPartitions(ctx, counts) })
	}
}

// start runs fn in gen; close waits for it even when gen ended before fn started.
func (s *kafkaSession) start(gen *kafka.Generation, fn func(context.Context)) {
	s.running.Add(1)
	gen.Start(func(ctx context.Context) {
		defer s.running.Done()
		fn(ctx)
	})
}

// ended records that g is over: it owns nothing any more.
func (s *kafkaSession) ended(g *kafkaGeneration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current == g {
		s.current = nil
		s.metrics.assigned.Set(0)
	}
}

func (s *kafkaSession) owns(tp topicPartition) bool {
	s.mu.Lock()
	g := s.current
	s.mu.Unlock()
	return g != nil && g.owns(tp)
}

// readBatch returns the messages fetched so far, at most len(msgs), waiting for the first
// one as Read does.
func (s *kafkaSession) readBatch(ctx context.Context, msgs []*pipeline.Message, acks []pipeline.AckFunc) (int, error) {
	if len(s.taken) < len(msgs) {
		s.taken = make([]*kafkaRecord, len(msgs))
	}
	for {
		select {
		case <-s.failed:
			return 0, s.failErr
		case <-s.ctx.Done():
			return 0, pipeline.ErrNotConnected
		default:
		}
		n, wait := s.queue.take(s.taken[:len(msgs)])
		out, bytes := 0, int64(0)
		for _, rec := range s.taken[:n] {
			if rec.gen.ended.Load() {
				rec.abandon() // its generation ended while it was queued
				continue
			}
			msgs[out], acks[out] = &rec.msg, rec.ackFn
			bytes += rec.size
			out++
		}
		clear(s.taken[:n])
		if out > 0 {
			s.metrics.fetched.Add(float64(out))
			s.metrics.pending.Add(float64(out))
			s.metrics.pendingBytes.Add(float64(bytes))
			return out, nil
		}
		if n > 0 {
			continue
		}
		select {
		case <-wait:
		case <-s.failed:
			return 0, s.failErr
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-s.ctx.Done():
			return 0, pipeline.ErrNotConnected
		}
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

// fetchFailed reports a failing fetch: authentication and authorization failures are fatal,
// anything else is logged (at most once per fetchWarnEvery) while the reader retries.
func (s *kafkaSession) fetchFailed(tp topicPartition, err error) {
	if kafkautil.IsAuthError(err) {
		s.fail(fmt.Errorf("%w: fetch %s/%d: %w: %w", pipeline.ErrFatal, tp.topic, tp.partition, kafkautil.ErrAuth, err))
		return
	}
	now := time.Now().UnixNano()
	last := s.lastWarn.Load()
	if now-last < int64(fetchWarnEvery) || !s.lastWarn.CompareAndSwap(last, now) {
		return
	}
	s.logger.Warn("fetching from Kafka failed; retrying", "topic", tp.topic, "partition", tp.partition, "err", err)
}

// close ends the membership: the running generation commits what is acked (without waiting
// for what is pending), the member leaves the group, and every goroutine of the session ends.
// When ctx ends first, every connection of the session is closed, which makes the commit, the
// leave and the fetches fail at once; close then returns (within kafkautil.CloseWithin's
// margin) and the session's goroutines end by themselves. Offsets of the running generation
// that could not be committed are logged and named in the error: the group reads those
// messages again.
func (s *kafkaSession) close(ctx context.Context) error {
	s.mu.Lock()
	g := s.current
	s.mu.Unlock()
	s.cancel()
	err := kafkautil.CloseWithin(ctx, s.conns, func() error {
		err := s.group.Close()
		<-s.loopDone
		s.running.Wait()
		s.closeTr()
		s.mu.Lock()
		defer s.mu.Unlock()
		return errors.Join(s.closeErr, err)
	})
	if g == nil {
		return err
	}
	left := g.uncommitted()
	if len(left) == 0 {
		return err
	}
	offsets := describeOffsets(left)
	s.logger.Warn("offsets not committed at close; the group reads again from the last committed offsets",
		"offsets", offsets, "err", err)
	if err == nil {
		return fmt.Errorf("offsets %s not committed", offsets)
	}
	return fmt.Errorf("offsets %s not committed: %w", offsets, err)
}

func isRebalanceError(err error) bool {
	return errors.Is(err, kafka.RebalanceInProgress) || errors.Is(err, kafka.IllegalGeneration) ||
		errors.Is(err, kafka.UnknownMemberId) || errors.Is(err, kafka.NotCoordinatorForGroup)
}

// describeOffsets lists commit positions as "topic/0=12 topic/1=7 other/0=3", sorted.
func describeOffsets(positions []commitPosition) string {
	sort.Slice(positions, func(i, j int) bool {
		a, b := positions[i].part.tp, positions[j].part.tp
		if a.topic != b.topic {
			return a.topic < b.topic
		}
		return a.partition < b.partition
	})
	parts := make([]string, len(positions))
	for i, c := range positions {
		parts[i] = fmt.Sprintf("%s/%d=%d", c.part.tp.topic, c.part.tp.partition, c.offset)
	}
	return strings.Join(parts, " ")
}

// describePartitions lists partitions as "topic/0,1,2 other/3", sorted.
func describePartitions(parts map[topicPartition]*partitionOffsets) string {
	byTopic := map[string][]int{}
	for tp := range parts {
		byTopic[tp.topic] = append(byTopic[tp.topic], tp.partition)
	}
	topics := make([]string, 0, len(byTopic))
	for t := range byTopic {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	var b strings.Builder
	for i, t := range topics {
		ids := byTopic[t]
		sort.Ints(ids)
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s/", t)
		for j, id := range ids {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprint(&b, id)
		}
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

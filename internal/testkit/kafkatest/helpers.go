package kafkatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/seabridge/seabridge/internal/backoff"
)

// UniqueTopic returns a topic name that no other test or run uses: prefix (when
// not empty), the test's name (made topic-safe, shortened) and 8 random hex
// digits, joined by '-'. It also serves for consumer-group names.
func UniqueTopic(t testing.TB, prefix string) string {
	t.Helper()
	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		t.Fatalf("kafkatest: random topic suffix: %v", err)
	}
	name := topicSafe(t.Name())
	if len(name) > 80 {
		name = name[:80]
	}
	if prefix != "" {
		name = topicSafe(prefix) + "-" + name
	}
	return name + "-" + hex.EncodeToString(suffix[:])
}

// topicSafe keeps letters, digits and '-' and turns everything else into '-'.
// ('.' and '_' are legal but collide in Kafka's metric names, so they go too.)
func topicSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			return r
		default:
			return '-'
		}
	}, s)
}

// CreateTopic creates topic with the given number of partitions (replication
// factor 1) and waits until every partition has a leader, so that producers and
// readers can use it at once.
func CreateTopic(t testing.TB, brokers []string, topic string, partitions int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	client, done := newClient(brokers)
	defer done()
	resp, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: topic, NumPartitions: partitions, ReplicationFactor: 1,
	}}})
	if err == nil {
		err = resp.Errors[topic]
	}
	if err != nil {
		t.Fatalf("kafkatest: create topic %q: %v", topic, err)
	}
	if _, err := waitPartitions(ctx, client, topic, partitions); err != nil {
		t.Fatalf("kafkatest: create topic %q: %v", topic, err)
	}
}

// Produce writes msgs to topic with acks=all, in order, and returns once the
// broker has acknowledged all of them. Messages with a key go to the partition
// chosen by kafka-go's Hash balancer (Sarama-compatible); messages without a key
// are spread round-robin. A missing topic is created by the broker.
func Produce(t testing.TB, brokers []string, topic string, msgs ...kafka.Message) {
	t.Helper()
	produce(t, brokers, topic, &kafka.Hash{}, msgs)
}

// ProduceToPartition writes msgs to one partition of topic with acks=all, in order.
func ProduceToPartition(t testing.TB, brokers []string, topic string, partition int, msgs ...kafka.Message) {
	t.Helper()
	produce(t, brokers, topic, fixedPartition(partition), msgs)
}

// fixedPartition is a kafka-go Balancer that sends everything to one partition.
type fixedPartition int

func (p fixedPartition) Balance(_ kafka.Message, partitions ...int) int {
	for _, id := range partitions {
		if id == int(p) {
			return id
		}
	}
	return -1 // kafka-go rejects it: the partition does not exist
}

func produce(t testing.TB, brokers []string, topic string, balancer kafka.Balancer, msgs []kafka.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	// The writer sets Topic on each message itself; a message carrying its own
	// topic is an error when Writer.Topic is set.
	out := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		m.Topic, m.Partition, m.Offset = "", 0, 0
		out[i] = m
	}
	retry := backoff.New(backoff.Policy{Initial: 50 * time.Millisecond, Max: time.Second})
	for {
		err := writeOnce(ctx, brokers, topic, balancer, out)
		if err == nil {
			return
		}
		// Apache Kafka creates an auto-created topic asynchronously: kafka-go's
		// first write to it fails with UnknownTopicOrPartition (or
		// LeaderNotAvailable) before anything is written, and a fresh writer
		// succeeds once the topic exists. kfake creates it synchronously.
		if !topicNotReady(err) || retry.Wait(ctx) != nil {
			t.Fatalf("kafkatest: produce %d message(s) to %q (%d attempt(s)): %v", len(msgs), topic, retry.Attempt()+1, err)
		}
	}
}

// writeOnce writes msgs with a new writer on a new transport, so that no metadata
// is cached from an earlier attempt.
func writeOnce(ctx context.Context, brokers []string, topic string, balancer kafka.Balancer, msgs []kafka.Message) error {
	transport := newTransport()
	defer transport.CloseIdleConnections()
	w := &kafka.Writer{
		Addr:                   kafka.TCP(brokers...),
		Topic:                  topic,
		Balancer:               balancer,
		RequiredAcks:           kafka.RequireAll,
		BatchTimeout:           time.Millisecond,
		BatchSize:              len(msgs),
		AllowAutoTopicCreation: true,
		Transport:              transport,
	}
	err := w.WriteMessages(ctx, msgs...)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}

// topicNotReady reports an error of a write that failed as a whole because the
// topic has no usable partition yet. Partial failures (kafka.WriteErrors) are
// not retried: that could duplicate the messages that were written.
func topicNotReady(err error) bool {
	var partial kafka.WriteErrors
	if errors.As(err, &partial) {
		return false
	}
	return errors.Is(err, kafka.UnknownTopicOrPartition) || errors.Is(err, kafka.LeaderNotAvailable)
}

// ConsumeN reads every partition of topic from the earliest offset, without a
// consumer group, until n messages have arrived, and returns them sorted by
// partition then offset. It fails the test if fewer than n arrive within timeout.
// When the topic holds more than n messages, which n are returned is unspecified.
func ConsumeN(t testing.TB, brokers []string, topic string, n int, timeout time.Duration) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	partitions := Partitions(t, brokers, topic)

	got := make(chan kafka.Message, n)
	var wg sync.WaitGroup
	readers := make([]*kafka.Reader, len(partitions))
	for i, p := range partitions {
		readers[i] = kafka.NewReader(kafka.ReaderConfig{
			Brokers:   brokers,
			Topic:     topic,
			Partition: p,
			MinBytes:  1,
			MaxBytes:  10 << 20,
			MaxWait:   100 * time.Millisecond,
		})
		wg.Add(1)
		go func(r *kafka.Reader) {
			defer wg.Done()
			readInto(ctx, r, got)
		}(readers[i])
	}

	msgs := make([]kafka.Message, 0, n)
	for len(msgs) < n && ctx.Err() == nil {
		select {
		case m := <-got:
			msgs = append(msgs, m)
		case <-ctx.Done():
		}
	}
	cancel()
	for _, r := range readers {
		r.Close()
	}
	wg.Wait()
	if len(msgs) < n {
		t.Fatalf("kafkatest: consume %q: got %d of %d message(s) within %v", topic, len(msgs), n, timeout)
	}
	sort.SliceStable(msgs, func(i, j int) bool {
		if msgs[i].Partition != msgs[j].Partition {
			return msgs[i].Partition < msgs[j].Partition
		}
		return msgs[i].Offset < msgs[j].Offset
	})
	return msgs
}

// readInto sends what r reads to out until ctx ends or r fails.
func readInto(ctx context.Context, r *kafka.Reader, out chan<- kafka.Message) {
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return
		}
		select {
		case out <- m:
		case <-ctx.Done():
			return
		}
	}
}

// Partitions returns the partition ids of topic, sorted, once each has a leader.
// It fails the test if the topic does not exist.
func Partitions(t testing.TB, brokers []string, topic string) []int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	client, done := newClient(brokers)
	defer done()
	ids, err := waitPartitions(ctx, client, topic, 0)
	if err != nil {
		t.Fatalf("kafkatest: partitions of %q: %v", topic, err)
	}
	return ids
}

// CommittedOffsets returns, per partition of topic, the offset that group has
// committed (OffsetFetch): the next offset the group will read. Partitions with
// no committed offset are absent from the map.
func CommittedOffsets(t testing.TB, brokers []string, group, topic string) map[int]int64 {
	t.Helper()
	partitions := Partitions(t, brokers, topic)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	client, done := newClient(brokers)
	defer done()
	resp, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{
		GroupID: group,
		Topics:  map[string][]int{topic: partitions},
	})
	if err == nil {
		err = resp.Error
	}
	if err != nil {
		t.Fatalf("kafkatest: committed offsets of group %q on %q: %v", group, topic, err)
	}
	offsets := make(map[int]int64)
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			t.Fatalf("kafkatest: committed offset of group %q on %q/%d: %v", group, topic, p.Partition, p.Error)
		}
		if p.CommittedOffset >= 0 {
			offsets[p.Partition] = p.CommittedOffset
		}
	}
	return offsets
}

// HighWaterMarks returns, per partition of topic, the offset the next produced
// message will get (ListOffsets, latest).
func HighWaterMarks(t testing.TB, brokers []string, topic string) map[int]int64 {
	t.Helper()
	partitions := Partitions(t, brokers, topic)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	client, done := newClient(brokers)
	defer done()
	reqs := make([]kafka.OffsetRequest, len(partitions))
	for i, p := range partitions {
		reqs[i] = kafka.LastOffsetOf(p)
	}
	resp, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		t.Fatalf("kafkatest: list offsets of %q: %v", topic, err)
	}
	marks := make(map[int]int64, len(partitions))
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			t.Fatalf("kafkatest: list offsets of %q/%d: %v", topic, p.Partition, p.Error)
		}
		marks[p.Partition] = p.LastOffset
	}
	return marks
}

// newClient returns a kafka-go Client on its own transport and a func that
// closes the transport's connections.
func newClient(brokers []string) (*kafka.Client, func()) {
	transport := newTransport()
	return &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second, Transport: transport},
		transport.CloseIdleConnections
}

func newTransport() *kafka.Transport {
	return &kafka.Transport{DialTimeout: 5 * time.Second, MetadataTTL: time.Second}
}

// metadata asks the brokers for cluster metadata (all topics).
func metadata(ctx context.Context, brokers []string) (*kafka.MetadataResponse, error) {
	client, done := newClient(brokers)
	defer done()
	return client.Metadata(ctx, &kafka.MetadataRequest{})
}

// waitPartitions polls metadata until topic exists with at least want partitions
// (any number when want is 0), each with a leader, and returns their ids sorted.
func waitPartitions(ctx context.Context, client *kafka.Client, topic string, want int) ([]int, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ids, err := topicPartitions(ctx, client, topic, want)
		if err == nil {
			return ids, nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		}
	}
}

func topicPartitions(ctx context.Context, client *kafka.Client, topic string, want int) ([]int, error) {
	resp, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, err
	}
	for _, tp := range resp.Topics {
		if tp.Name != topic {
			continue
		}
		if tp.Error != nil {
			return nil, tp.Error
		}
		if len(tp.Partitions) == 0 || len(tp.Partitions) < want {
			return nil, fmt.Errorf("%w: %d of %d partition(s)", errNotReady, len(tp.Partitions), want)
		}
		ids := make([]int, 0, len(tp.Partitions))
		for _, p := range tp.Partitions {
			if p.Leader.Host == "" {
				return nil, fmt.Errorf("%w: partition %d has no leader", errNotReady, p.ID)
			}
			ids = append(ids, p.ID)
		}
		sort.Ints(ids)
		return ids, nil
	}
	return nil, fmt.Errorf("%w: not in metadata", errNotReady)
}

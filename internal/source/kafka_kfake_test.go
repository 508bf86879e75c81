package source

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"

	"github.com/seabridge/seabridge/internal/kafkautil"
)

// verifyNoLeaks checks for leaked goroutines after every other cleanup of t has run.
func verifyNoLeaks(t *testing.T) {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

// startKafka starts an in-process broker on 127.0.0.1 with topics of the given partition count,
// short group timeouts, and returns its connection settings.
func startKafka(t *testing.T, partitions int32, topics ...string) kafkautil.Conn {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0), kfake.SeedTopics(partitions, topics...),
		kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return kafkautil.Conn{Brokers: c.ListenAddrs(), ClientID: "seabridge-test", DialTimeout: 2 * time.Second}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testOptions returns source options with group timings short enough for tests.
func testOptions(conn kafkautil.Conn, group string, topics ...string) KafkaOptions {
	return KafkaOptions{
		Pipeline:          "test",
		Conn:              conn,
		Topics:            topics,
		GroupID:           group,
		CommitInterval:    time.Hour, // tests commit explicitly or through Close
		MaxWait:           50 * time.Millisecond,
		HeartbeatInterval: 100 * time.Millisecond,
		SessionTimeout:    time.Second,
		RebalanceTimeout:  time.Second,
		JoinGroupBackoff:  100 * time.Millisecond,
	}
}

// produce writes count records to topic/partition with keys "k<i>" and values "v<i>", starting
// at i = first, and one header.
func produce(t *testing.T, conn kafkautil.Conn, topic string, partition, first, count int) {
	t.Helper()
	tr, err := conn.Transport()
	if err != nil {
		t.Fatal(err)
	}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{
		Addr:         kafka.TCP(conn.Brokers...),
		Transport:    tr,
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: time.Millisecond,
		Balancer:     kafka.BalancerFunc(func(m kafka.Message, _ ...int) int { return m.Partition }),
	}
	defer w.Close()
	msgs := make([]kafka.Message, count)
	for i := range msgs {
		n := strconv.Itoa(first + i)
		msgs[i] = kafka.Message{Topic: topic, Partition: partition, Key: []byte("k" + n), Value: []byte("v" + n),
			Headers: []kafka.Header{{Key: "h", Value: []byte("x" + n)}}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// committedOffsets returns the group's committed offset of each of the partitions of topic.
func committedOffsets(t *testing.T, conn kafkautil.Conn, group, topic string, partitions int) []int64 {
	t.Helper()
	client, tr, err := conn.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer tr.CloseIdleConnections()
	ids := make([]int, partitions)
	for i := range ids {
		ids[i] = i
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ids}})
	if err != nil || resp.Error != nil {
		t.Fatalf("offset fetch: %v %v", err, resp.Error)
	}
	out := make([]int64, partitions)
	for _, p := range resp.Topics[topic] {
		out[p.Partition] = p.CommittedOffset
	}
	return out
}

// commitNow commits the acked prefix of every partition through the current generation, as
// the committer does every CommitInterval.
func (s *kafkaSession) commitNow(ctx context.Context) error {
	for {
		s.mu.Lock()
		g := s.current
		s.mu.Unlock()
		if g != nil {
			return g.commit(g.commitable())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no generation to commit through: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

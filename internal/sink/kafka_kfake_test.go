package sink

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"

	"github.com/seabridge/seabridge/internal/kafkautil"
)

// verifyNoLeaks checks for leaked goroutines after every other cleanup of tb has run.
func verifyNoLeaks(tb testing.TB) {
	tb.Helper()
	tb.Cleanup(func() { goleak.VerifyNone(tb) })
}

// startKafka starts an in-process broker on 127.0.0.1 with the given topics (partitions each).
func startKafka(tb testing.TB, partitions int32, topics ...string) (kafkautil.Conn, *kfake.Cluster) {
	tb.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		tb.Fatalf("start kfake: %v", err)
	}
	tb.Cleanup(c.Close)
	return kafkautil.Conn{Brokers: c.ListenAddrs(), ClientID: "seabridge-test", DialTimeout: 2 * time.Second}, c
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// readPartition returns every record of topic/partition.
func readPartition(t *testing.T, conn kafkautil.Conn, topic string, partition int) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := kafka.DialLeader(ctx, "tcp", conn.Brokers[0], topic, partition)
	if err != nil {
		t.Fatalf("dial leader: %v", err)
	}
	defer c.Close()
	last, err := c.ReadLastOffset()
	if err != nil {
		t.Fatalf("last offset: %v", err)
	}
	var out []kafka.Message
	if last == 0 {
		return out
	}
	if _, err := c.Seek(0, kafka.SeekAbsolute); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := c.ReadBatch(1, 10<<20)
	defer b.Close()
	for int64(len(out)) < last {
		m, err := b.ReadMessage()
		if err != nil {
			t.Fatalf("read %s/%d after %d records: %v", topic, partition, len(out), err)
		}
		out = append(out, m)
	}
	return out
}

// readTopic returns every record of the partitions of topic.
func readTopic(t *testing.T, conn kafkautil.Conn, topic string, partitions int) []kafka.Message {
	t.Helper()
	var out []kafka.Message
	for p := range partitions {
		out = append(out, readPartition(t, conn, topic, p)...)
	}
	return out
}

func headerMap(hs []kafka.Header) map[string]string {
	m := make(map[string]string, len(hs))
	for _, h := range hs {
		m[h.Key] = string(h.Value)
	}
	return m
}

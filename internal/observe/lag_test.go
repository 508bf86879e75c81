package observe

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"

	"github.com/seabridge/seabridge/internal/kafkautil"
)

func lagTestLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startLagKafka starts an in-process broker on 127.0.0.1 with topics of two partitions, and
// checks for leaked goroutines after every other cleanup.
func startLagKafka(t *testing.T, topics ...string) (kafkautil.Conn, *kfake.Cluster) {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0), kfake.SeedTopics(2, topics...))
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return kafkautil.Conn{Brokers: c.ListenAddrs(), DialTimeout: 2 * time.Second}, c
}

// lagClient returns a client of conn closed at the end of the test.
func lagClient(t *testing.T, conn kafkautil.Conn) *kafka.Client {
	t.Helper()
	client, tr, err := conn.Client()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return client
}

// produceTo writes n records to topic/partition.
func produceTo(t *testing.T, client *kafka.Client, topic string, partition, n int) {
	t.Helper()
	records := make([]kafka.Record, n)
	for i := range records {
		records[i].Value = kafka.NewBytes([]byte("v"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := client.Produce(ctx, &kafka.ProduceRequest{Topic: topic, Partition: partition,
		RequiredAcks: kafka.RequireAll, Records: kafka.NewRecordReader(records...)})
	if err != nil || resp.Error != nil {
		t.Fatalf("produce: %v %v", err, resp.Error)
	}
}

// commit commits offset for group on topic/partition as a consumer outside any generation.
func commit(t *testing.T, client *kafka.Client, group, topic string, partition int, offset int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := client.OffsetCommit(ctx, &kafka.OffsetCommitRequest{GroupID: group, GenerationID: -1,
		Topics: map[string][]kafka.OffsetCommit{topic: {{Partition: partition, Offset: offset}}}})
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			t.Fatalf("commit %s/%d: %v", topic, p.Partition, p.Error)
		}
	}
}

const lagMetricNames = "seabridge_kafka_consumer_lag seabridge_kafka_high_watermark seabridge_kafka_committed_offset"

func TestLagCollectorValues(t *testing.T) {
	conn, cluster := startLagKafka(t, "in", "gone")
	client := lagClient(t, conn)
	produceTo(t, client, "in", 0, 5)
	produceTo(t, client, "in", 1, 3)
	produceTo(t, client, "gone", 0, 1)
	commit(t, client, "g", "in", 0, 2)

	c := NewLagCollector(LagOptions{Conn: conn, Groups: []GroupTopics{{Pipeline: "p", GroupID: "g", Topics: []string{"in", "gone"}}}},
		lagTestLogger(), nil)
	c.scrapeAll(context.Background(), client)
	want := `
# HELP seabridge_kafka_committed_offset Offset committed by the pipeline's consumer group (absent before the first commit).
# TYPE seabridge_kafka_committed_offset gauge
seabridge_kafka_committed_offset{partition="0",pipeline="p",topic="in"} 2
# HELP seabridge_kafka_consumer_lag Records of the partition not yet committed by the pipeline's consumer group (high-water mark minus committed offset; minus the earliest offset before the first commit).
# TYPE seabridge_kafka_consumer_lag gauge
seabridge_kafka_consumer_lag{partition="0",pipeline="p",topic="gone"} 1
seabridge_kafka_consumer_lag{partition="0",pipeline="p",topic="in"} 3
seabridge_kafka_consumer_lag{partition="1",pipeline="p",topic="gone"} 0
seabridge_kafka_consumer_lag{partition="1",pipeline="p",topic="in"} 3
# HELP seabridge_kafka_high_watermark High-water mark of the partition: the offset of the next record produced to it.
# TYPE seabridge_kafka_high_watermark gauge
seabridge_kafka_high_watermark{partition="0",pipeline="p",topic="gone"} 1
seabridge_kafka_high_watermark{partition="0",pipeline="p",topic="in"} 5
seabridge_kafka_high_watermark{partition="1",pipeline="p",topic="gone"} 0
seabridge_kafka_high_watermark{partition="1",pipeline="p",topic="in"} 3
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), strings.Fields(lagMetricNames)...); err != nil {
		t.Fatal(err)
	}

	if err := cluster.DeleteTopic("gone"); err != nil {
		t.Fatal(err)
	}
	commit(t, client, "g", "in", 1, 3)
	c.scrapeAll(context.Background(), client)
	want = `
# HELP seabridge_kafka_committed_offset Offset committed by the pipeline's consumer group (absent before the first commit).
# TYPE seabridge_kafka_committed_offset gauge
seabridge_kafka_committed_offset{partition="0",pipeline="p",topic="in"} 2
seabridge_kafka_committed_offset{partition="1",pipeline="p",topic="in"} 3
# HELP seabridge_kafka_consumer_lag Records of the partition not yet committed by the pipeline's consumer group (high-water mark minus committed offset; minus the earliest offset before the first commit).
# TYPE seabridge_kafka_consumer_lag gauge
seabridge_kafka_consumer_lag{partition="0",pipeline="p",topic="in"} 3
seabridge_kafka_consumer_lag{partition="1",pipeline="p",topic="in"} 0
# HELP seabridge_kafka_high_watermark High-water mark of the partition: the offset of the next record produced to it.
# TYPE seabridge_kafka_high_watermark gauge
seabridge_kafka_high_watermark{partition="0",pipeline="p",topic="in"} 5
seabridge_kafka_high_watermark{partition="1",pipeline="p",topic="in"} 3
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), strings.Fields(lagMetricNames)...); err != nil {
		t.Fatalf("after deleting a topic: %v", err)
	}
	if n := testutil.ToFloat64(c.scrapeErrors.WithLabelValues("p")); n != 0 {
		t.Fatalf("scrape errors = %v, want 0", n)
	}
}

func TestLagCollectorScrapeErrorKeepsLastValues(t *testing.T) {
	conn, _ := startLagKafka(t, "in")
	client := lagClient(t, conn)
	produceTo(t, client, "in", 0, 4)
	c := NewLagCollector(LagOptions{Conn: conn, Groups: []GroupTopics{{Pipeline: "p", GroupID: "g", Topics: []string{"in"}}}},
		lagTestLogger(), nil)
	c.scrapeAll(context.Background(), client)
	dead := lagClient(t, kafkautil.Conn{Brokers: []string{"127.0.0.1:1"}, DialTimeout: time.Second})
	c.scrapeAll(context.Background(), dead)
	if n := testutil.ToFloat64(c.scrapeErrors.WithLabelValues("p")); n != 1 {
		t.Fatalf("scrape errors = %v, want 1", n)
	}
	if n := testutil.CollectAndCount(c, "seabridge_kafka_consumer_lag"); n != 2 {
		t.Fatalf("%d lag series after a failed scrape, want the 2 of the last success", n)
	}
}

func TestLagCollectorRun(t *testing.T) {
	conn, _ := startLagKafka(t, "in")
	reg := prometheus.NewRegistry()
	c := NewLagCollector(LagOptions{Conn: conn, Interval: 10 * time.Millisecond,
		Groups: []GroupTopics{{Pipeline: "p", GroupID: "g", Topics: []string{"in"}}}}, lagTestLogger(), reg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cancel()
			<-done
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(c.lastSuccess.WithLabelValues("p")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no successful scrape within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	stopped = true
	if err := <-done; err != nil {
		t.Fatalf("Run() = %v, want nil after cancel", err)
	}
	if n, err := testutil.GatherAndCount(reg, "seabridge_kafka_high_watermark"); err != nil || n != 2 {
		t.Fatalf("registry holds %d high-water series (%v), want 2", n, err)
	}
}

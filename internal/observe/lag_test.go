package observe

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"

	"github.com/seabridge/seabridge/internal/kafkautil"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
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
		lagTestLogger())
	if _, ok := c.Lag("p"); ok {
		t.Fatal("Lag before the first scrape reports a value")
	}
	c.scrapeAll(context.Background(), client)
	if lag, ok := c.Lag("p"); !ok || lag != 7 {
		t.Fatalf("Lag(p) = %d, %v; want 7 (3+3+1), true", lag, ok)
	}
	if _, ok := c.Lag("other"); ok {
		t.Fatal("Lag of a pipeline the collector does not scrape reports a value")
	}
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
	if err := testutil.CollectAndCompare(LagCollectors{c}, strings.NewReader(want), strings.Fields(lagMetricNames)...); err != nil {
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
	if err := testutil.CollectAndCompare(LagCollectors{c}, strings.NewReader(want), strings.Fields(lagMetricNames)...); err != nil {
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
		lagTestLogger())
	c.scrapeAll(context.Background(), client)
	dead := lagClient(t, kafkautil.Conn{Brokers: []string{"127.0.0.1:1"}, DialTimeout: time.Second})
	c.scrapeAll(context.Background(), dead)
	if n := testutil.ToFloat64(c.scrapeErrors.WithLabelValues("p")); n != 1 {
		t.Fatalf("scrape errors = %v, want 1", n)
	}
	if n := testutil.CollectAndCount(LagCollectors{c}, "seabridge_kafka_consumer_lag"); n != 2 {
		t.Fatalf("%d lag series after a failed scrape, want the 2 of the last success", n)
	}
}

func TestLagCollectorRun(t *testing.T) {
	conn, _ := startLagKafka(t, "in")
	reg := prometheus.NewRegistry()
	c := NewLagCollector(LagOptions{Conn: conn, Interval: 10 * time.Millisecond,
		Groups: []GroupTopics{{Pipeline: "p", GroupID: "g", Topics: []string{"in"}}}}, lagTestLogger())
	reg.MustRegister(LagCollectors{c})
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

// TestLagCollectorsExportOwnedPartitions runs two instances' collectors of one group whose
// members own one partition each: each exports the kafka_exporter-style series of its own
// partition only, so their sum is the group's lag, counted once; the per-pipeline series stay
// complete on both.
func TestLagCollectorsExportOwnedPartitions(t *testing.T) {
	conn, _ := startLagKafka(t, "in")
	client := lagClient(t, conn)
	produceTo(t, client, "in", 0, 5)
	produceTo(t, client, "in", 1, 3)
	commit(t, client, "g", "in", 0, 1)
	instance := func(partition int) *LagCollector { return ownerCollector(t, conn, client, "p", partition) }
	a, b := instance(0), instance(1)
	checkGroupLag(t, a, "0", 4)
	checkGroupLag(t, b, "1", 3)
	for _, c := range []*LagCollector{a, b} {
		if n := testutil.CollectAndCount(LagCollectors{c}, "seabridge_kafka_consumer_lag"); n != 2 {
			t.Errorf("%d seabridge_kafka_consumer_lag series, want both partitions on every instance", n)
		}
	}
	// An instance that owns nothing (between generations, or idle) exports a sum of 0.
	checkGroupLag(t, instance(-1), "", 0)
}

// ownerCollector returns the collector of pipeline, a member of group "g" reading topic "in"
// that owns one partition of it (none for -1), after one scrape.
func ownerCollector(t *testing.T, conn kafkautil.Conn, client *kafka.Client, pipeline string, partition int) *LagCollector {
	t.Helper()
	c := NewLagCollector(LagOptions{Conn: conn, Groups: []GroupTopics{{Pipeline: pipeline, GroupID: "g", Topics: []string{"in"},
		Owns: func(topic string, p int) bool { return topic == "in" && p == partition }}}}, lagTestLogger())
	c.scrapeAll(context.Background(), client)
	return c
}

// checkGroupLag checks c's consumergroup series: the lag of the one partition it owns ("":
// none) and the topic's sum, for group "g" and topic "in".
func checkGroupLag(t *testing.T, c *LagCollector, partition string, lag int) {
	t.Helper()
	want := ""
	if partition != "" {
		want = `# HELP seabridge_kafka_consumergroup_lag Consumer-group lag of a partition this instance owns in the group's current generation (kafka_exporter's kafka_consumergroup_lag): sum across instances.
# TYPE seabridge_kafka_consumergroup_lag gauge
seabridge_kafka_consumergroup_lag{consumergroup="g",partition="` + partition + `",topic="in"} ` + strconv.Itoa(lag) + "\n"
	}
	want += `# HELP seabridge_kafka_consumergroup_lag_sum Consumer-group lag of the partitions of the topic this instance owns in the group's current generation (kafka_exporter's kafka_consumergroup_lag_sum): sum across instances.
# TYPE seabridge_kafka_consumergroup_lag_sum gauge
seabridge_kafka_consumergroup_lag_sum{consumergroup="g",topic="in"} ` + strconv.Itoa(lag) + "\n"
	if err := testutil.CollectAndCompare(LagCollectors{c}, strings.NewReader(want),
		"seabridge_kafka_consumergroup_lag", "seabridge_kafka_consumergroup_lag_sum"); err != nil {
		t.Errorf("partition %q: %v", partition, err)
	}
}

// TestLagCollectorsMergeOneGroup: two pipelines of one process in one consumer group (each a
// member owning some partitions) export one lag_sum for the group and topic, not two
// conflicting ones.
func TestLagCollectorsMergeOneGroup(t *testing.T) {
	conn, _ := startLagKafka(t, "in")
	client := lagClient(t, conn)
	produceTo(t, client, "in", 0, 2)
	produceTo(t, client, "in", 1, 5)
	set := LagCollectors{ownerCollector(t, conn, client, "p0", 0), ownerCollector(t, conn, client, "p1", 1)}
	reg := prometheus.NewRegistry()
	reg.MustRegister(set)
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("gather: %v", err)
	}
	want := `
# HELP seabridge_kafka_consumergroup_lag_sum Consumer-group lag of the partitions of the topic this instance owns in the group's current generation (kafka_exporter's kafka_consumergroup_lag_sum): sum across instances.
# TYPE seabridge_kafka_consumergroup_lag_sum gauge
seabridge_kafka_consumergroup_lag_sum{consumergroup="g",topic="in"} 7
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "seabridge_kafka_consumergroup_lag_sum"); err != nil {
		t.Fatal(err)
	}
}

// TestLagScrapeErrorsStartAtZero: the scrape error counter of every pipeline exists before the
// first scrape, so that increase() sees the first failure.
func TestLagScrapeErrorsStartAtZero(t *testing.T) {
	c := NewLagCollector(LagOptions{Conn: kafkautil.Conn{Brokers: []string{"127.0.0.1:1"}},
		Groups: []GroupTopics{{Pipeline: "a", GroupID: "g"}, {Pipeline: "b", GroupID: "h"}}}, lagTestLogger())
	want := `
# HELP seabridge_kafka_lag_scrape_errors_total Lag scrapes that failed, by pipeline.
# TYPE seabridge_kafka_lag_scrape_errors_total counter
seabridge_kafka_lag_scrape_errors_total{pipeline="a"} 0
seabridge_kafka_lag_scrape_errors_total{pipeline="b"} 0
`
	if err := testutil.CollectAndCompare(LagCollectors{c}, strings.NewReader(want), "seabridge_kafka_lag_scrape_errors_total"); err != nil {
		t.Fatal(err)
	}
}

// TestLagCollectorStopsWhileKafkaHangs stops a collector whose scrape waits on a broker that
// accepts connections and answers nothing: Run returns at once, and with the broker still hung
// no goroutine of the collector is left behind.
func TestLagCollectorStopsWhileKafkaHangs(t *testing.T) {
	brokers, gate := kafkatest.GatedBrokers(t, kfake.SeedTopics(2, "in"))
	t.Cleanup(gate.Thaw)
	conn := kafkautil.Conn{Brokers: brokers, DialTimeout: 10 * time.Second}
	c := NewLagCollector(LagOptions{Conn: conn, Interval: 30 * time.Second,
		Groups: []GroupTopics{{Pipeline: "p", GroupID: "g", Topics: []string{"in"}}}}, lagTestLogger())
	before := goleak.IgnoreCurrent()
	gate.Freeze()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	time.Sleep(200 * time.Millisecond) // the first scrape waits for the broker meanwhile (up to 10 s)
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of its context's end")
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Run took %v to return after its context ended, want at most 1s", took)
	}
	goleak.VerifyNone(t, kafkatest.IgnoreHungBroker(before)...)
}

package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/seabridge/seabridge/internal/backoff"
	"github.com/seabridge/seabridge/internal/kafkautil"
	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/pipeline/pipelinetest"
)

// TestKafkaSinkBrokerRejectsTooLarge covers a record that passes the local size check but that
// the broker refuses (the topic's max.message.bytes is below the writer's BatchBytes): it must
// be reported as poison, alone, and the records around it written, in order.
func TestKafkaSinkBrokerRejectsTooLarge(t *testing.T) {
	verifyNoLeaks(t)
	conn, cluster := startKafka(t, 1)
	if err := cluster.CreateTopic("small", 1, map[string]string{"max.message.bytes": "1000"}); err != nil {
		t.Fatal(err)
	}
	k := connectSink(t, KafkaOptions{Pipeline: "p", Conn: conn, Topic: "small"}, nil)
	tests := []struct {
		name      string
		batch     []string
		wantBad   []int
		wantAfter []string // what the topic holds after this case, cumulatively
	}{
		{"alone", []string{"big"}, []int{0}, nil},
		{"between good ones", []string{"a", "big", "b"}, []int{1}, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			batch := make([]*pipeline.Message, len(tt.batch))
			for i, v := range tt.batch {
				value := []byte(v)
				if v == "big" {
					value = bytes.Repeat([]byte("x"), 2000)
				}
				batch[i] = &pipeline.Message{Key: []byte("k"), Value: value}
			}
			err := write(t, k, batch)
			var poison *pipeline.PoisonError
			if !errors.As(err, &poison) || len(poison.Errs) != len(tt.wantBad) {
				t.Fatalf("write = %v, want poison for %v", err, tt.wantBad)
			}
			for _, i := range tt.wantBad {
				if !errors.Is(poison.Errs[i], kafka.MessageSizeTooLarge) {
					t.Fatalf("poison[%d] = %v, want MessageSizeTooLarge", i, poison.Errs[i])
				}
			}
			var got []string
			for _, r := range readPartition(t, conn, "small", 0) {
				got = append(got, string(r.Value))
			}
			if !equalStrings(got, tt.wantAfter) {
				t.Fatalf("topic holds %q, want %q", got, tt.wantAfter)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestKafkaSinkClassifiesProduceErrors checks what a Write reports for each kind of produce
// failure, and that a transient failure leaves the sink able to write once it clears.
func TestKafkaSinkClassifiesProduceErrors(t *testing.T) {
	verifyNoLeaks(t)
	tests := []struct {
		name string
		err  *kerr.Error
		want string // "transient", "fatal" or "poison"
	}{
		{"routed topic not yet known to the leader", kerr.UnknownTopicOrPartition, "transient"},
		{"leader moved", kerr.NotLeaderForPartition, "transient"},
		{"not enough replicas", kerr.NotEnoughReplicas, "transient"},
		{"topic authorization", kerr.TopicAuthorizationFailed, "fatal"},
		{"too large", kerr.MessageTooLarge, "poison"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, cluster := startKafka(t, 1, "out", "routed")
			k := connectSink(t, KafkaOptions{Pipeline: "p", Conn: conn, Topic: "out", MaxAttempts: 1}, nil)
			fault := cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "routed", Err: tt.err, Count: -1})
			batch := []*pipeline.Message{{Value: []byte("1"), TargetTopic: "routed"}}
			err := write(t, k, batch)
			var poison *pipeline.PoisonError
			got := "transient"
			switch {
			case err == nil:
				got = "nil"
			case errors.As(err, &poison):
				got = "poison"
			case errors.Is(err, pipeline.ErrFatal):
				got = "fatal"
			}
			if got != tt.want {
				t.Fatalf("write = %v (%s), want %s", err, got, tt.want)
			}
			fault.Remove()
			if tt.want != "transient" {
				return
			}
			if err := write(t, k, batch); err != nil {
				t.Fatalf("write after the fault cleared: %v", err)
			}
		})
	}
}

// TestKafkaSinkRequiresAllAcksByDefault checks the acks of the produce requests of a sink
// configured without RequiredAcks.
func TestKafkaSinkRequiresAllAcksByDefault(t *testing.T) {
	verifyNoLeaks(t)
	conn, cluster := startKafka(t, 1, "out")
	acks := make(chan int16, 16)
	cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Observe: true, Count: -1, When: func(r kmsg.Request) bool {
		select {
		case acks <- r.(*kmsg.ProduceRequest).Acks:
		default:
		}
		return true
	}})
	k := connectSink(t, KafkaOptions{Pipeline: "p", Conn: conn, Topic: "out"}, nil)
	if err := write(t, k, []*pipeline.Message{{Value: []byte("1")}}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-acks:
		if got != -1 {
			t.Fatalf("produce request acks = %d, want -1 (all)", got)
		}
	default:
		t.Fatal("no produce request observed")
	}
}

// TestKafkaSinkRetriesOnlyWhatFailed fails the produce requests of one partition of two: the
// Write reports a transient error, and writing the same batch again produces only the records
// of that partition, so every record is in the topic exactly once.
func TestKafkaSinkRetriesOnlyWhatFailed(t *testing.T) {
	verifyNoLeaks(t)
	conn, cluster := startKafka(t, 2, "out")
	m := NewKafkaSinkMetrics(prometheus.NewRegistry())
	k := connectSink(t, KafkaOptions{Pipeline: "p", Conn: conn, Topic: "out", MaxAttempts: 1}, m)
	fault := cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "out", Partitions: []int32{1},
		Err: kerr.NotLeaderForPartition, Count: -1})
	batch := make([]*pipeline.Message, 20)
	for i := range batch {
		batch[i] = &pipeline.Message{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "%d", i)}
	}
	err := write(t, k, batch)
	if err == nil || errors.Is(err, pipeline.ErrFatal) {
		t.Fatalf("write with partition 1 failing = %v, want a transient error", err)
	}
	var poison *pipeline.PoisonError
	if errors.As(err, &poison) {
		t.Fatalf("write with partition 1 failing = %v, want a transient error, not poison", err)
	}
	first := len(readPartition(t, conn, "out", 0))
	if first == 0 || first == len(batch) || len(readPartition(t, conn, "out", 1)) != 0 {
		t.Fatalf("after the partial failure partition 0 holds %d of %d records and partition 1 %d: the test needs both partitions used",
			first, len(batch), len(readPartition(t, conn, "out", 1)))
	}
	if got := testutil.ToFloat64(m.produced.WithLabelValues("p")); got != float64(first) {
		t.Errorf("produced_messages_total = %v after the partial failure, want %d", got, first)
	}
	fault.Remove()
	if err := write(t, k, batch); err != nil {
		t.Fatalf("write again after the fault cleared: %v", err)
	}
	checkEachOnce(t, conn, "out", 2, len(batch))
	if got := testutil.ToFloat64(m.produced.WithLabelValues("p")); got != float64(len(batch)) {
		t.Errorf("produced_messages_total = %v, want %d", got, len(batch))
	}
	if got := testutil.ToFloat64(m.produceErrors.WithLabelValues("p")); got != float64(len(batch)-first) {
		t.Errorf("produce_errors_total = %v, want %d (the records of partition 1, once)", got, len(batch)-first)
	}

	// A different batch starts afresh.
	next := []*pipeline.Message{{Key: []byte("k0"), Value: []byte("again")}}
	if err := write(t, k, next); err != nil {
		t.Fatal(err)
	}
	if got := len(readTopic(t, conn, "out", 2)); got != len(batch)+1 {
		t.Fatalf("topic holds %d records after a new batch, want %d", got, len(batch)+1)
	}
}

// TestKafkaSinkPartialFailureThroughTheRunner runs a pipeline into a topic whose partition 1
// refuses the first two produce requests: the runner retries, and every record lands once.
func TestKafkaSinkPartialFailureThroughTheRunner(t *testing.T) {
	verifyNoLeaks(t)
	conn, cluster := startKafka(t, 2, "out")
	cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "out", Partitions: []int32{1},
		Err: kerr.NotLeaderForPartition, Count: 2})
	log := pipelinetest.NewMemLog("in")
	const n = 40
	for i := range n {
		log.AppendKeyed(fmt.Appendf(nil, "k%d", i), []byte(strconv.Itoa(i)))
	}
	k, err := NewKafka(KafkaOptions{Pipeline: "p", Conn: conn, Topic: "out", MaxAttempts: 1}, discardLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pipeline.NewRunner(pipeline.Options{Name: "p", Direction: pipeline.DirectionStreamSeaToKafka,
		Source: pipelinetest.NewMemSource(log), Sink: k, BatchSize: n, Linger: 50 * time.Millisecond,
		Retry: backoff.Policy{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for log.Acked() < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := log.Acked(); got != n {
		t.Fatalf("%d of %d records acked", got, n)
	}
	if s := r.Stats(); s.Retries == 0 {
		t.Fatalf("runner stats %+v: want retries (the fault did not fire)", s)
	}
	checkEachOnce(t, conn, "out", 2, n)
}

// checkEachOnce checks that topic holds the values "0" to "n-1" once each.
func checkEachOnce(t *testing.T, conn kafkautil.Conn, topic string, partitions, n int) {
	t.Helper()
	count := map[string]int{}
	for _, m := range readTopic(t, conn, topic, partitions) {
		count[string(m.Value)]++
	}
	for i := range n {
		if c := count[strconv.Itoa(i)]; c != 1 {
			t.Errorf("record %d is in the topic %d times, want once", i, c)
		}
	}
}

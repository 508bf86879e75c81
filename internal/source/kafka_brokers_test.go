package source

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/seabridge/seabridge/internal/kafkautil"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// TestKafkaSourceOnEachBroker runs the commit contract on kfake and, when
// SEABRIDGE_KAFKA_BROKERS is set, on Apache Kafka: out-of-order acks commit the contiguous
// prefix, Close commits, and a restart resumes from the first unacked message.
func TestKafkaSourceOnEachBroker(t *testing.T) {
	verifyNoLeaks(t)
	kafkatest.ForEachBroker(t, func(t *testing.T, brokers []string) {
		topic, group := kafkatest.UniqueTopic(t, "src"), kafkatest.UniqueTopic(t, "grp")
		kafkatest.CreateTopic(t, brokers, topic, 1)
		msgs := make([]kafka.Message, 5)
		for i := range msgs {
			msgs[i] = kafka.Message{Key: []byte("k"), Value: []byte(strconv.Itoa(i))}
		}
		kafkatest.ProduceToPartition(t, brokers, topic, 0, msgs...)

		opts := testOptions(kafkautil.Conn{Brokers: brokers, DialTimeout: 5 * time.Second}, group, topic)
		opts.SessionTimeout = 6 * time.Second // Apache Kafka's default group.min.session.timeout.ms
		k := newConnected(t, opts)
		rs := readN(t, k, 5)
		for _, i := range []int{0, 1, 3} {
			_ = rs[i].ack(context.Background(), nil)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := k.session().commitNow(ctx); err != nil {
			t.Fatalf("commit: %v", err)
		}
		if got := kafkatest.CommittedOffsets(t, brokers, group, topic)[0]; got != 2 {
			t.Fatalf("committed %d after acking 0,1,3; want 2", got)
		}
		_ = rs[2].ack(context.Background(), nil)
		closeSource(t, k)
		if got := kafkatest.CommittedOffsets(t, brokers, group, topic)[0]; got != 4 {
			t.Fatalf("committed %d after Close; want 4", got)
		}

		k2 := newConnected(t, opts)
		r := readN(t, k2, 1)[0]
		if r.msg.Offset != 4 || string(r.msg.Value) != "4" {
			t.Fatalf("after restart read offset %d %q, want offset 4", r.msg.Offset, r.msg.Value)
		}
		_ = r.ack(context.Background(), nil)
		closeSource(t, k2)
	})
}

package sink

import (
	"context"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/kafkautil"
	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// TestKafkaSinkOnEachBroker writes keyed records with headers on kfake and, when
// SEABRIDGE_KAFKA_BROKERS is set, on Apache Kafka, and reads them back.
func TestKafkaSinkOnEachBroker(t *testing.T) {
	verifyNoLeaks(t)
	kafkatest.ForEachBroker(t, func(t *testing.T, brokers []string) {
		topic := kafkatest.UniqueTopic(t, "sink")
		kafkatest.CreateTopic(t, brokers, topic, 3)
		k := connectSink(t, KafkaOptions{Pipeline: "p", Conn: kafkautil.Conn{Brokers: brokers, DialTimeout: 5 * time.Second},
			Topic: topic, InstanceID: "i-1", AddHeaders: true, Compression: "zstd"}, nil)
		batch := []*pipeline.Message{
			{Key: []byte("a"), Value: []byte("1"), Stream: "s"},
			{Key: []byte("a"), Value: []byte("2"), Stream: "s"},
			{Key: []byte("b"), Value: []byte("3"), Stream: "s"},
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := k.Write(ctx, batch); err != nil {
			t.Fatalf("write: %v", err)
		}
		got := kafkatest.ConsumeN(t, brokers, topic, 3, 10*time.Second)
		partitionOf := map[string]int{}
		for _, r := range got {
			h := headerMap(r.Headers)
			if h[HeaderInstance] != "i-1" || h[HeaderSourceStream] != "s" {
				t.Fatalf("record %q headers %v", r.Value, h)
			}
			if p, ok := partitionOf[string(r.Key)]; ok && p != r.Partition {
				t.Fatalf("key %q on partitions %d and %d", r.Key, p, r.Partition)
			}
			partitionOf[string(r.Key)] = r.Partition
		}
	})
}

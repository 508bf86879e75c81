package benchmark

import (
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/seabridge/seabridge/internal/config"
)

// TestRawWriterHasSinkDefaults checks that the raw-kafka-producer ceiling is measured with the
// Kafka sink's default producer settings, so that the bridge is compared with a like producer.
func TestRawWriterHasSinkDefaults(t *testing.T) {
	k := &kafkaTarget{brokers: []string{"127.0.0.1:9092"}}
	w := k.writer("bench", 3*time.Millisecond)
	d := config.DefaultSink(config.EndpointKafka)
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"acks", w.RequiredAcks, kafka.RequireAll},
		{"batch size", w.BatchSize, d.BatchSize},
		{"batch bytes", w.BatchBytes, int64(d.BatchBytes)},
		{"batch timeout", w.BatchTimeout, 3 * time.Millisecond},
		{"write timeout", w.WriteTimeout, d.WriteTimeout},
		{"max attempts", w.MaxAttempts, d.MaxAttempts},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

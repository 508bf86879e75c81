package source

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/seabridge/seabridge/internal/kafkautil"
	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/pipeline/pipelinetest"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// TestKafkaSourceConformance runs the source conformance suite against kfake: one topic with
// one partition and one consumer group per subtest. Disrupt closes the source, which ends its
// session the way a lost group does: Read reports ErrNotConnected until Connect.
func TestKafkaSourceConformance(t *testing.T) {
	verifyNoLeaks(t)
	pipelinetest.RunSourceSuite(t, pipelinetest.SourceHarness{
		Redelivers: true,
		Timeout:    20 * time.Second,
		Setup: func(t *testing.T) pipelinetest.SourceBackend {
			brokers := kafkatest.Brokers(t, kfake.GroupMinSessionTimeout(100*time.Millisecond))
			topic := kafkatest.UniqueTopic(t, "src")
			kafkatest.CreateTopic(t, brokers, topic, 1)
			conn := kafkautil.Conn{Brokers: brokers, DialTimeout: 2 * time.Second}
			opts := testOptions(conn, kafkatest.UniqueTopic(t, "group"), topic)
			return pipelinetest.SourceBackend{
				NewSource: func(t *testing.T) pipeline.Source {
					k, err := NewKafka(opts, discardLogger(), nil)
					if err != nil {
						t.Fatal(err)
					}
					return k
				},
				Produce: func(_ context.Context, t *testing.T, values [][]byte) {
					msgs := make([]kafka.Message, len(values))
					for i, v := range values {
						msgs[i] = kafka.Message{Value: v}
					}
					kafkatest.ProduceToPartition(t, brokers, topic, 0, msgs...)
				},
				Disrupt: func(t *testing.T, src pipeline.Source) {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					if err := src.Close(ctx); err != nil {
						t.Fatalf("disrupt: %v", err)
					}
				},
			}
		},
	})
}

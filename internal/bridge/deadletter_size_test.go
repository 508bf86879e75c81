package bridge_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// TestPoisonTooLargeForTheDeadLetterTopic publishes, between two records, a 2 MB payload to a
// stream-sea -> Kafka pipeline whose sink takes records of at most 500000 bytes: the large one
// is poison, and too large for the dead-letter topic (dead_letter.max_bytes, 1 MiB) too. It
// must reach the dead-letter topic without its value, with seabridge-value-omitted giving the
// size, be counted, and not hold up the record after it.
func TestPoisonTooLargeForTheDeadLetterTopic(t *testing.T) {
	kafkatest.ForEachBroker(t, func(t *testing.T, brokers []string) {
		w := newWorld(t, brokers)
		topic, dlq := kafkatest.UniqueTopic(t, "out"), kafkatest.UniqueTopic(t, "dlq")
		kafkatest.CreateTopic(t, brokers, topic, 1)
		kafkatest.CreateTopic(t, brokers, dlq, 1)
		p := s2kPipe("large-to-kafka", "readings", topic)
		p.sinkLines = []string{"batch_bytes = 500000"}
		p.deadLetter, p.dlqTopic = "dlq", dlq
		app := w.start("a", w.config(settings{}, p))
		app.awaitReady(t, flowTimeout)

		recs := makeRecords("s2k", 0, 2, 1)
		large := fmt.Appendf(nil, `{"id":"large","key":"k","pad":%q}`, strings.Repeat("x", 2_000_000))
		for _, v := range [][]byte{recs[0].json(), large, recs[1].json()} {
			if err := w.rest.Publish(context.Background(), p.stream, v); err != nil {
				t.Fatalf("publish: %v", err)
			}
		}
		got := decodeKafka(t, kafkatest.ConsumeN(t, brokers, topic, 2, flowTimeout))
		checkExactly(t, recs, records(got))
		dead := kafkatest.ConsumeN(t, brokers, dlq, 1, flowTimeout)[0]
		if len(dead.Value) != 0 {
			t.Errorf("dead letter holds a value of %d bytes, want it omitted", len(dead.Value))
		}
		if v, _ := header(dead, "seabridge-value-omitted"); v != strconv.Itoa(len(large)) {
			t.Errorf("seabridge-value-omitted = %q, want %d", v, len(large))
		}
		if v, _ := header(dead, "seabridge-error"); !strings.Contains(v, "larger than") {
			t.Errorf("seabridge-error = %q, want the sink's size refusal", v)
		}
		const omitted = "seabridge_kafka_dead_letter_values_omitted_total"
		if v := metricValue(t, app.Registry(), omitted, p.name); v != 1 {
			t.Errorf("%s = %v, want 1", omitted, v)
		}
		if err := app.stop(t); err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
		if s := app.pipelineStats(t, p.name); s.DeadLettered != 1 || s.Out != 2 {
			t.Errorf("stats %+v: want 2 written and 1 dead-lettered", s.Stats)
		}
	})
}

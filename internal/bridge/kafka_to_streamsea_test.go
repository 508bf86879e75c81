package bridge_test

import (
	"context"
	"testing"

	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// k2sPipe is a Kafka -> stream-sea pipeline that defines the record schema on the stream.
func k2sPipe(name, topic, group, stream string) pipe {
	return pipe{name: name, topic: topic, group: group, stream: stream, sinkLines: []string{recordSchemaLine(stream)}}
}

// TestKafkaToStreamSea produces to a 3-partition topic and expects a websocket subscriber of
// the stream to receive exactly those records in per-key order, the schema to be defined,
// and, once the bridge stopped, the group's offsets committed up to the high-water marks.
func TestKafkaToStreamSea(t *testing.T) {
	kafkatest.ForEachBroker(t, func(t *testing.T, brokers []string) {
		const n = 2000
		w := newWorld(t, brokers)
		topic := kafkatest.UniqueTopic(t, "k2s")
		group := kafkatest.UniqueTopic(t, "group")
		kafkatest.CreateTopic(t, brokers, topic, 3)
		p := k2sPipe("alarms-to-streamsea", topic, group, "alarms")
		sub := w.collect(p.stream)

		want := makeRecords("k2s", 0, n, 13)
		kafkatest.Produce(t, brokers, topic, kafkaMessages(want[:n/2])...)
		app := w.start("a", w.config(settings{}, p))
		kafkatest.Produce(t, brokers, topic, kafkaMessages(want[n/2:])...)
		sub.awaitIDs(t, want, flowTimeout)
		if err := app.stop(t); err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
		checkExactly(t, want, sub.snapshot())

		schema, err := w.rest.DescribeStream(context.Background(), p.stream)
		if err != nil {
			t.Fatalf("describe %q: %v", p.stream, err)
		}
		if schema.Version != 1 || len(schema.Fields) != 3 {
			t.Errorf("stream schema %+v, want the configured version 1 with 3 fields", schema)
		}
		checkCommittedAtEnd(t, brokers, group, topic)
	})
}

// checkCommittedAtEnd fails the test unless group has committed every partition of topic up
// to its high-water mark: nothing left uncommitted, nothing committed past what exists.
func checkCommittedAtEnd(t *testing.T, brokers []string, group, topic string) {
	t.Helper()
	hwm := kafkatest.HighWaterMarks(t, brokers, topic)
	committed := kafkatest.CommittedOffsets(t, brokers, group, topic)
	for p, mark := range hwm {
		if got, ok := committed[p]; got != mark && (ok || mark != 0) {
			t.Errorf("group %s: committed offsets %v, want the high-water marks %v", group, committed, hwm)
			return
		}
	}
}

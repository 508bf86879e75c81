package bridge_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// s2kPipe is a stream-sea -> Kafka pipeline keyed by the record key.
func s2kPipe(name, stream, topic string) pipe {
	return pipe{name: name, toKafka: true, stream: stream, topic: topic, group: newGroupUUID(),
		mappingLines: []string{`key = "/key"`}}
}

// TestStreamSeaToKafka publishes singles and batches over REST and expects exactly those
// records in the topic, keyed by mapping.key, in per-key order, with the bridge's headers.
func TestStreamSeaToKafka(t *testing.T) {
	kafkatest.ForEachBroker(t, func(t *testing.T, brokers []string) {
		const n = 2000
		w := newWorld(t, brokers)
		topic := kafkatest.UniqueTopic(t, "s2k")
		kafkatest.CreateTopic(t, brokers, topic, 3)
		p := s2kPipe("boiler-to-kafka", "boiler", topic)
		app := w.start("a", w.config(settings{instance: "bridge-a"}, p))
		app.awaitReady(t, flowTimeout)

		want := makeRecords("s2k", 0, n, 17)
		mustPublish(t, w.rest, p.stream, want)
		got := decodeKafka(t, kafkatest.ConsumeN(t, brokers, topic, n, flowTimeout))
		checkExactly(t, want, records(got))
		if total := sumOffsets(kafkatest.HighWaterMarks(t, brokers, topic)); total != n {
			t.Errorf("topic holds %d record(s), want exactly %d", total, n)
		}
		for _, kr := range got[:min(len(got), n)] {
			checkS2KRecord(t, kr, p.stream, "bridge-a")
		}
		if err := app.stop(t); err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
		if s := app.pipelineStats(t, p.name); s.In != n || s.Out != n {
			t.Errorf("stats in %d out %d, want %d each", s.In, s.Out, n)
		}
	})
}

// checkS2KRecord checks the key and the headers of a record the bridge produced from stream.
func checkS2KRecord(t *testing.T, kr kafkaRecord, stream, instance string) {
	t.Helper()
	where := fmt.Sprintf("%s/%d@%d", kr.msg.Topic, kr.msg.Partition, kr.msg.Offset)
	if string(kr.msg.Key) != kr.Key {
		t.Fatalf("%s: key %q, want %q (mapping.key /key)", where, kr.msg.Key, kr.Key)
	}
	if v, _ := header(kr.msg, "seabridge-source-stream"); v != stream {
		t.Fatalf("%s: seabridge-source-stream %q, want %q", where, v, stream)
	}
	if v, _ := header(kr.msg, "seabridge-instance"); v != instance {
		t.Fatalf("%s: seabridge-instance %q, want %q", where, v, instance)
	}
	v, _ := header(kr.msg, "seabridge-received-at")
	at, err := time.Parse(time.RFC3339Nano, v)
	if err != nil || time.Since(at) > 5*time.Minute || time.Until(at) > time.Minute {
		t.Fatalf("%s: seabridge-received-at %q is not a recent RFC 3339 time (%v)", where, v, err)
	}
}

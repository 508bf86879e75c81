package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// poison is one message the bridge must reject, and a word its error must contain.
type poison struct {
	value []byte
	names string
}

// mixedTraffic returns n records, where every fifth one is replaced by a poison message made
// by bad; good lists the others in order, all every value in order.
func mixedTraffic(prefix string, n int, bad func(i int) poison) (good []record, poisons []poison, all [][]byte) {
	for i, r := range makeRecords(prefix, 0, n, 5) {
		if i%5 == 2 {
			p := bad(i)
			poisons = append(poisons, p)
			all = append(all, p.value)
			continue
		}
		good = append(good, r)
		all = append(all, r.json())
	}
	return good, poisons, all
}

// keylessPoison lacks the field mapping.key points at.
func keylessPoison(i int) poison {
	return poison{value: fmt.Appendf(nil, `{"id":"nokey-%d","seq":%d}`, i, i), names: "/key"}
}

// schemaPoison violates the record schema in one of three ways, each naming the field.
func schemaPoison(i int) poison {
	switch i % 3 {
	case 0:
		return poison{value: fmt.Appendf(nil, `{"id":"badseq-%d","key":"k","seq":"%d"}`, i, i), names: "seq"}
	case 1:
		return poison{value: fmt.Appendf(nil, `{"id":"noseq-%d","key":"k"}`, i), names: "seq"}
	default:
		return poison{value: fmt.Appendf(nil, `{"id":"extra-%d","key":"k","seq":%d,"colour":"red"}`, i, i), names: "colour"}
	}
}

// TestPoisonToDeadLetterFromStreamSea publishes, in one batch, records and records lacking
// the mapping key: exactly the bad ones reach the dead-letter topic, with their value and the
// error headers; all the good ones reach the topic.
func TestPoisonToDeadLetterFromStreamSea(t *testing.T) {
	kafkatest.ForEachBroker(t, func(t *testing.T, brokers []string) {
		w := newWorld(t, brokers)
		topic, dlq := kafkatest.UniqueTopic(t, "out"), kafkatest.UniqueTopic(t, "dlq")
		kafkatest.CreateTopic(t, brokers, topic, 2)
		kafkatest.CreateTopic(t, brokers, dlq, 1)
		p := s2kPipe("readings-to-kafka", "readings", topic)
		p.deadLetter, p.dlqTopic = "dlq", dlq
		app := w.start("a", w.config(settings{}, p))
		app.awaitReady(t, flowTimeout)

		good, poisons, all := mixedTraffic("s2k", 200, keylessPoison)
		if err := w.rest.PublishBatch(context.Background(), p.stream, all); err != nil {
			t.Fatalf("publish: %v", err)
		}
		got := decodeKafka(t, kafkatest.ConsumeN(t, brokers, topic, len(good), flowTimeout))
		checkExactly(t, good, records(got))
		dead := kafkatest.ConsumeN(t, brokers, dlq, len(poisons), flowTimeout)
		checkDeadLetters(t, dead, poisons, func(t *testing.T, m kafka.Message) {
			if v, _ := header(m, "seabridge-source-stream"); v != p.stream {
				t.Errorf("dead letter %s: seabridge-source-stream %q, want %q", m.Value, v, p.stream)
			}
			if len(m.Key) != 0 {
				t.Errorf("dead letter %s: key %q, want none (stream-sea messages have no key)", m.Value, m.Key)
			}
		}, p.name)
		if err := app.stop(t); err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
		if n := sumOffsets(kafkatest.HighWaterMarks(t, brokers, topic)); n != int64(len(good)) {
			t.Errorf("topic holds %d record(s), want %d", n, len(good))
		}
		if n := sumOffsets(kafkatest.HighWaterMarks(t, brokers, dlq)); n != int64(len(poisons)) {
			t.Errorf("dead-letter topic holds %d record(s), want %d", n, len(poisons))
		}
	})
}

// TestPoisonToDeadLetterFromKafka produces records mixed with records that break the stream's
// schema: exactly the bad ones reach the dead-letter topic with their key, value, original
// headers and where they came from; all good ones reach stream-sea; the group commits past
// the poison ones.
func TestPoisonToDeadLetterFromKafka(t *testing.T) {
	kafkatest.ForEachBroker(t, func(t *testing.T, brokers []string) {
		w := newWorld(t, brokers)
		topic, dlq := kafkatest.UniqueTopic(t, "in"), kafkatest.UniqueTopic(t, "dlq")
		group := kafkatest.UniqueTopic(t, "group")
		kafkatest.CreateTopic(t, brokers, topic, 2)
		kafkatest.CreateTopic(t, brokers, dlq, 1)
		p := k2sPipe("alarms-to-streamsea", topic, group, "alarms")
		p.deadLetter, p.dlqTopic = "dlq", dlq
		sub := w.collect(p.stream)

		good, poisons, all := mixedTraffic("k2s", 200, schemaPoison)
		msgs := make([]kafka.Message, len(all))
		for i, v := range all {
			msgs[i] = kafka.Message{Key: fmt.Appendf(nil, "key-%d", i%5), Value: v,
				Headers: []kafka.Header{{Key: "trace", Value: fmt.Appendf(nil, "t-%d", i)}}}
		}
		kafkatest.Produce(t, brokers, topic, msgs...)
		origin := locate(t, brokers, topic, len(msgs))
		app := w.start("a", w.config(settings{}, p))

		sub.awaitIDs(t, good, flowTimeout)
		dead := kafkatest.ConsumeN(t, brokers, dlq, len(poisons), flowTimeout)
		checkDeadLetters(t, dead, poisons, func(t *testing.T, m kafka.Message) {
			from, ok := origin[string(m.Value)]
			if !ok {
				t.Errorf("dead letter %s: not a produced value", m.Value)
				return
			}
			want := map[string]string{
				"seabridge-source-topic":     topic,
				"seabridge-source-partition": strconv.Itoa(from.Partition),
				"seabridge-source-offset":    strconv.FormatInt(from.Offset, 10),
			}
			for k, v := range want {
				if got, _ := header(m, k); got != v {
					t.Errorf("dead letter %s: %s %q, want %q", m.Value, k, got, v)
				}
			}
			if string(m.Key) != string(from.Key) {
				t.Errorf("dead letter %s: key %q, want the original %q", m.Value, m.Key, from.Key)
			}
			if got, _ := header(m, "trace"); got != string(from.Headers[0].Value) {
				t.Errorf("dead letter %s: original header trace %q, want %q", m.Value, got, from.Headers[0].Value)
			}
		}, p.name)
		if err := app.stop(t); err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
		checkExactly(t, good, sub.snapshot())
		checkCommittedAtEnd(t, brokers, group, topic)
		if n := sumOffsets(kafkatest.HighWaterMarks(t, brokers, dlq)); n != int64(len(poisons)) {
			t.Errorf("dead-letter topic holds %d record(s), want %d", n, len(poisons))
		}
	})
}

// locate reads the n messages of topic and indexes them by value.
func locate(t *testing.T, brokers []string, topic string, n int) map[string]kafka.Message {
	t.Helper()
	out := map[string]kafka.Message{}
	for _, m := range kafkatest.ConsumeN(t, brokers, topic, n, flowTimeout) {
		out[string(m.Value)] = m
	}
	return out
}

// checkDeadLetters fails the test unless dead holds exactly the poison values, each with a
// seabridge-error naming its problem and seabridge-pipeline naming pipeline; more checks
// each one further.
func checkDeadLetters(t *testing.T, dead []kafka.Message, poisons []poison, more func(*testing.T, kafka.Message), pipeline string) {
	t.Helper()
	want := map[string]string{}
	for _, p := range poisons {
		want[string(p.value)] = p.names
	}
	seen := map[string]bool{}
	for _, m := range dead {
		names, ok := want[string(m.Value)]
		if !ok || seen[string(m.Value)] {
			t.Errorf("dead letter %s: unexpected or repeated", m.Value)
			continue
		}
		seen[string(m.Value)] = true
		if v, _ := header(m, "seabridge-error"); !strings.Contains(v, names) {
			t.Errorf("dead letter %s: seabridge-error %q does not name %q", m.Value, v, names)
		}
		if v, _ := header(m, "seabridge-pipeline"); v != pipeline {
			t.Errorf("dead letter %s: seabridge-pipeline %q, want %q", m.Value, v, pipeline)
		}
		more(t, m)
	}
	if len(seen) != len(want) {
		t.Errorf("%d of %d poison messages dead-lettered", len(seen), len(want))
	}
}

// TestPoisonPolicies checks the two policies without a dead-letter topic, each way: "drop"
// counts the poison messages in seabridge_pipeline_messages_dropped_total and delivers the
// rest; "stop" makes App.Run return an error naming the pipeline and the reason.
func TestPoisonPolicies(t *testing.T) {
	for _, toKafka := range []bool{true, false} {
		for _, policy := range []string{"drop", "stop"} {
			name := "kafka-to-streamsea-" + policy
			if toKafka {
				name = "streamsea-to-kafka-" + policy
			}
			t.Run(name, func(t *testing.T) { testPoisonPolicy(t, toKafka, policy) })
		}
	}
}

func testPoisonPolicy(t *testing.T, toKafka bool, policy string) {
	brokers := kafkatest.Brokers(t)
	w := newWorld(t, brokers)
	kafkatest.CreateTopic(t, brokers, "topic", 2)
	var p pipe
	var sub *collector
	var good []record
	var poisons []poison
	var all [][]byte
	if toKafka {
		p = s2kPipe("poison-"+policy, "stream", "topic")
	} else {
		p = k2sPipe("poison-"+policy, "topic", "group", "stream")
		sub = w.collect(p.stream)
	}
	p.deadLetter = policy
	app := w.start("a", w.config(settings{}, p))
	app.awaitReady(t, flowTimeout)
	if toKafka {
		good, poisons, all = mixedTraffic("s2k", 100, keylessPoison)
		if err := w.rest.PublishBatch(context.Background(), p.stream, all); err != nil {
			t.Fatalf("publish: %v", err)
		}
	} else {
		good, poisons, all = mixedTraffic("k2s", 100, schemaPoison)
		msgs := make([]kafka.Message, len(all))
		for i, v := range all {
			msgs[i] = kafka.Message{Key: fmt.Appendf(nil, "key-%d", i%5), Value: v}
		}
		kafkatest.Produce(t, brokers, p.topic, msgs...)
	}

	if policy == "stop" {
		err := app.wait(t, flowTimeout, "after a poison message with policy stop")
		if err == nil || !strings.Contains(err.Error(), p.name) || !strings.Contains(err.Error(), poisons[0].names) {
			t.Fatalf("Run = %v, want an error naming pipeline %q and %q", err, p.name, poisons[0].names)
		}
		if prefix := fmt.Sprintf("pipeline %q: ", p.name); strings.HasPrefix(err.Error(), prefix+prefix) {
			t.Errorf("Run = %v\nwant the pipeline named once, not repeated", err)
		}
		checkNothingAfterThePoison(t, w, brokers, p, sub, all)
		return
	}
	if toKafka {
		got := decodeKafka(t, kafkatest.ConsumeN(t, brokers, p.topic, len(good), flowTimeout))
		checkExactly(t, good, records(got))
	} else {
		sub.awaitIDs(t, good, flowTimeout)
	}
	const dropped = "seabridge_pipeline_messages_dropped_total"
	eventually(t, flowTimeout, "every poison message counted as dropped", func() (bool, string) {
		v := metricValue(t, app.Registry(), dropped, p.name)
		return v == float64(len(poisons)), fmt.Sprintf("%s = %v, want %d", dropped, v, len(poisons))
	})
	if err := app.stop(t); err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
	if toKafka {
		if n := sumOffsets(kafkatest.HighWaterMarks(t, brokers, p.topic)); n != int64(len(good)) {
			t.Errorf("topic holds %d record(s), want %d", n, len(good))
		}
	} else {
		checkExactly(t, good, sub.snapshot())
		checkCommittedAtEnd(t, brokers, p.group, p.topic)
	}
	if s := app.pipelineStats(t, p.name); s.Dropped != uint64(len(poisons)) {
		t.Errorf("stats dropped %d, want %d", s.Dropped, len(poisons))
	}
}

// checkNothingAfterThePoison fails the test when a pipeline stopped by a poison message (the
// first of all, sent in this order; good values are records of mixedTraffic) delivered a
// message sent after it: for stream-sea -> Kafka the topic must hold exactly what was published
// before it; for Kafka -> stream-sea the stream must hold nothing that followed it in its
// partition.
func checkNothingAfterThePoison(t *testing.T, w *world, brokers []string, p pipe, sub *collector, all [][]byte) {
	t.Helper()
	isPoison := func(v []byte) bool {
		return !bytes.HasPrefix(v, []byte(`{"id":"s2k-`)) && !bytes.HasPrefix(v, []byte(`{"id":"k2s-`))
	}
	if p.toKafka {
		var before []record
		for _, v := range all[:slices.IndexFunc(all, isPoison)] {
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				t.Fatal(err)
			}
			before = append(before, r)
		}
		var got []record
		if n := int(sumOffsets(kafkatest.HighWaterMarks(t, brokers, p.topic))); n > 0 {
			got = records(decodeKafka(t, kafkatest.ConsumeN(t, brokers, p.topic, n, flowTimeout)))
		}
		checkExactly(t, before, got)
		return
	}
	awaitAllAccepted(t, w, sub, p.stream)
	origin := locate(t, brokers, p.topic, len(all))
	firstPoison := map[int]int64{} // partition -> offset of its first poison message
	for v, m := range origin {
		if off, seen := firstPoison[m.Partition]; isPoison([]byte(v)) && (!seen || m.Offset < off) {
			firstPoison[m.Partition] = m.Offset
		}
	}
	for _, r := range sub.snapshot() {
		m := origin[string(r.json())]
		if off, ok := firstPoison[m.Partition]; ok && m.Offset > off {
			t.Errorf("stream-sea received %s (partition %d offset %d), after the poison message at offset %d", r.ID, m.Partition, m.Offset, off)
		}
	}
}

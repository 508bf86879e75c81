package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/seabridge/seabridge/internal/kafkautil"
	"github.com/seabridge/seabridge/internal/pipeline"
)

// startKafkaWith is startKafka with broker configs, e.g. a small message.max.bytes.
func startKafkaWith(tb testing.TB, configs map[string]string, topics ...string) kafkautil.Conn {
	tb.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0), kfake.SeedTopics(1, topics...), kfake.BrokerConfigs(configs))
	if err != nil {
		tb.Fatalf("start kfake: %v", err)
	}
	tb.Cleanup(c.Close)
	return kafkautil.Conn{Brokers: c.ListenAddrs(), ClientID: "seabridge-test", DialTimeout: 2 * time.Second}
}

// connectedDeadLetter returns a connected writer of topic "dlq" and its metrics.
func connectedDeadLetter(t *testing.T, conn kafkautil.Conn, maxBytes int64) (*DeadLetter, *KafkaSinkMetrics) {
	t.Helper()
	m := NewKafkaSinkMetrics(prometheus.NewRegistry())
	d, err := NewDeadLetter(DeadLetterOptions{Pipeline: "p", Conn: conn, Topic: "dlq", InstanceID: "i-1", MaxBytes: maxBytes}, discardLogger(), m)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d, m
}

// wantRecord is what one dead-letter record must hold: its key and value, and headers that
// must be present (with these values) or absent ("" as the value: must be missing).
type wantRecord struct {
	key, value string
	headers    map[string]string
}

func checkRecords(t *testing.T, conn kafkautil.Conn, want []wantRecord) {
	t.Helper()
	got := readPartition(t, conn, "dlq", 0)
	if len(got) != len(want) {
		t.Fatalf("dead-letter topic holds %d records, want %d", len(got), len(want))
	}
	for i, w := range want {
		h := headerMap(got[i].Headers)
		if string(got[i].Key) != w.key || string(got[i].Value) != w.value {
			t.Errorf("record %d: key %d bytes, value %d bytes; want %d and %d", i, len(got[i].Key), len(got[i].Value), len(w.key), len(w.value))
		}
		for k, v := range w.headers {
			if got, ok := h[k]; v == "" && ok || v != "" && got != v {
				t.Errorf("record %d: header %s = %.60q (present %v), want %.60q", i, k, got, ok, v)
			}
		}
	}
}

// TestDeadLetterWritesRecordsTooLargeWithoutTheirValue dead-letters, in one call, a small
// message, one whose value is larger than dead_letter.max_bytes (the default, 1 MiB) and one
// whose key and headers alone are too: the first is written whole, the second without its
// value, the third without value, key and original headers; the two are counted.
func TestDeadLetterWritesRecordsTooLargeWithoutTheirValue(t *testing.T) {
	verifyNoLeaks(t)
	conn, _ := startKafka(t, 1, "dlq")
	d, m := connectedDeadLetter(t, conn, 0)
	big := bytes.Repeat([]byte("v"), 2<<20)
	hugeKey := bytes.Repeat([]byte("k"), 2<<20)
	longReason := errors.New(strings.Repeat("r", 5000))
	msgs := []*pipeline.Message{
		{Key: []byte("k1"), Value: []byte(`{"a":1}`), Topic: "in", Partition: 0, Offset: 1},
		{Key: []byte("k2"), Value: big, Topic: "in", Partition: 0, Offset: 2, Headers: []pipeline.Header{{Key: "orig", Value: []byte("h")}}},
		{Key: hugeKey, Value: big, Stream: "s", Headers: []pipeline.Header{{Key: "orig", Value: []byte("h")}}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := d.DeadLetter(ctx, msgs, []error{errors.New("bad"), errors.New("too large for the sink"), longReason}); err != nil {
		t.Fatalf("DeadLetter = %v, want nil", err)
	}
	size := strconv.Itoa(len(big))
	checkRecords(t, conn, []wantRecord{
		{"k1", `{"a":1}`, map[string]string{HeaderError: "bad", HeaderValueOmitted: "", HeaderSourceOffset: "1"}},
		{"k2", "", map[string]string{HeaderError: "too large for the sink", HeaderValueOmitted: size, HeaderKeyOmitted: "",
			"orig": "h", HeaderSourceOffset: "2", HeaderPipeline: "p"}},
		{"", "", map[string]string{HeaderError: strings.Repeat("r", bareErrorBytes), HeaderValueOmitted: size,
			HeaderKeyOmitted: strconv.Itoa(len(hugeKey)), HeaderHeadersOmitted: "1", "orig": "", HeaderSourceStream: "s"}},
	})
	if n := testutil.ToFloat64(m.deadLetterOmitted.WithLabelValues("p")); n != 2 {
		t.Errorf("dead_letter_values_omitted_total = %v, want 2", n)
	}
	if n := testutil.ToFloat64(m.deadLettered.WithLabelValues("p")); n != 3 {
		t.Errorf("dead_lettered_messages_total = %v, want 3", n)
	}
}

// TestDeadLetterReducesWhatTheTopicRefuses dead-letters records below max_bytes to a broker
// whose message.max.bytes is smaller: the broker refuses them whole, they are written reduced.
func TestDeadLetterReducesWhatTheTopicRefuses(t *testing.T) {
	verifyNoLeaks(t)
	conn := startKafkaWith(t, map[string]string{"message.max.bytes": "20000"}, "dlq")
	d, m := connectedDeadLetter(t, conn, 0)
	value := bytes.Repeat([]byte("v"), 50000)
	msgs := []*pipeline.Message{
		{Key: []byte("k1"), Value: []byte(`{"a":1}`), Stream: "s"},
		{Key: []byte("k2"), Value: value, Stream: "s"},
		{Key: bytes.Repeat([]byte("k"), 30000), Value: value, Stream: "s"},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := d.DeadLetter(ctx, msgs, []error{errors.New("a"), errors.New("b"), errors.New("c")}); err != nil {
		t.Fatalf("DeadLetter = %v, want nil", err)
	}
	got := readPartition(t, conn, "dlq", 0)
	byError := map[string]map[string]string{}
	for _, r := range got {
		h := headerMap(r.Headers)
		byError[h[HeaderError]] = h
	}
	if len(got) != 3 || byError["a"] == nil || byError["b"] == nil || byError["c"] == nil {
		t.Fatalf("dead-letter topic holds %d records (%v), want a, b and c once each", len(got), byError)
	}
	if _, omitted := byError["a"][HeaderValueOmitted]; omitted {
		t.Errorf("the small record was reduced")
	}
	if byError["b"][HeaderValueOmitted] != "50000" || byError["b"][HeaderKeyOmitted] != "" {
		t.Errorf("record b headers %v: want only the value omitted", byError["b"])
	}
	if byError["c"][HeaderKeyOmitted] != "30000" {
		t.Errorf("record c headers %v: want the key omitted too", byError["c"])
	}
	if n := testutil.ToFloat64(m.deadLetterOmitted.WithLabelValues("p")); n != 2 {
		t.Errorf("dead_letter_values_omitted_total = %v, want 2", n)
	}
}

// TestDeadLetterThatRefusesEvenABareRecordIsFatal: a topic that takes no record at all (its
// limit is below the smallest record) fails the call with pipeline.ErrFatal instead of an
// error the runner would retry forever.
func TestDeadLetterThatRefusesEvenABareRecordIsFatal(t *testing.T) {
	verifyNoLeaks(t)
	conn := startKafkaWith(t, map[string]string{"message.max.bytes": "60"}, "dlq")
	d, _ := connectedDeadLetter(t, conn, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := d.DeadLetter(ctx, []*pipeline.Message{{Value: []byte(`{"a":1}`), Topic: "in", Offset: 7}}, []error{errors.New("bad")})
	if !errors.Is(err, pipeline.ErrFatal) || !strings.Contains(err.Error(), `topic "dlq" refuses`) || !strings.Contains(err.Error(), "offset 7") {
		t.Fatalf("DeadLetter = %v, want a fatal error naming the topic and the message", err)
	}
}

// TestProduceRefusalsOfTheSettingsAreFatal: errors every produce with the writer's settings
// gets are fatal for the sink and the dead-letter writer; a leader change is not.
func TestProduceRefusalsOfTheSettingsAreFatal(t *testing.T) {
	d, err := NewDeadLetter(DeadLetterOptions{Pipeline: "p", Conn: kafkautil.Conn{Brokers: []string{"127.0.0.1:1"}}, Topic: "dlq"}, discardLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		err   error
		fatal bool
	}{
		{kafka.UnsupportedVersion, true},
		{kafka.UnsupportedCompressionType, true},
		{kafka.PolicyViolation, true},
		{kafka.InvalidRequiredAcks, true},
		{kafka.NotLeaderForPartition, false},
		{kafka.RequestTimedOut, false},
	} {
		if got := errors.Is(d.sink.classify(c.err), pipeline.ErrFatal); got != c.fatal {
			t.Errorf("sink: classify(%v) fatal = %v, want %v", c.err, got, c.fatal)
		}
		if got := errors.Is(d.classify(fmt.Errorf("kafka sink %q: %w", "p", c.err)), pipeline.ErrFatal); got != c.fatal {
			t.Errorf("dead letter: classify(%v) fatal = %v, want %v", c.err, got, c.fatal)
		}
	}
}

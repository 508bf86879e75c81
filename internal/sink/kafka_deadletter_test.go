package sink

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/seabridge/seabridge/internal/kafkautil"
	"github.com/seabridge/seabridge/internal/pipeline"
)

func TestDeadLetterRecordsCarryAllHeaders(t *testing.T) {
	verifyNoLeaks(t)
	conn, _ := startKafka(t, 1, "dlq")
	m := NewKafkaSinkMetrics(prometheus.NewRegistry())
	d, err := NewDeadLetter(DeadLetterOptions{Pipeline: "p", Conn: conn, Topic: "dlq", InstanceID: "i-1"}, discardLogger(), m)
	if err != nil {
		t.Fatal(err)
	}
	d.now = func() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	received := time.Date(2024, 1, 2, 3, 4, 0, 0, time.UTC)
	msgs := []*pipeline.Message{
		{Key: []byte("k1"), Value: []byte(`{"a":1}`), Topic: "in", Partition: 3, Offset: 42, ReceivedAt: received,
			Headers: []pipeline.Header{{Key: "orig", Value: []byte("h")}}, TargetTopic: "elsewhere"},
		{Key: []byte("k2"), Value: []byte(`{"b":2}`), Stream: "orders", ReceivedAt: received},
	}
	if err := d.DeadLetter(ctx, msgs, []error{errors.New("bad mapping"), errors.New("schema says no")}); err != nil {
		t.Fatalf("dead letter: %v", err)
	}
	got := readPartition(t, conn, "dlq", 0)
	want := []struct {
		key, value string
		headers    map[string]string
	}{
		{"k1", `{"a":1}`, map[string]string{"orig": "h", HeaderError: "bad mapping", HeaderPipeline: "p",
			HeaderSourceTopic: "in", HeaderSourcePartition: "3", HeaderSourceOffset: "42",
			HeaderFailedAt: "2024-01-02T03:04:05Z", HeaderReceivedAt: "2024-01-02T03:04:00Z", HeaderInstance: "i-1"}},
		{"k2", `{"b":2}`, map[string]string{HeaderError: "schema says no", HeaderPipeline: "p", HeaderSourceStream: "orders",
			HeaderFailedAt: "2024-01-02T03:04:05Z", HeaderReceivedAt: "2024-01-02T03:04:00Z", HeaderInstance: "i-1"}},
	}
	if len(got) != len(want) {
		t.Fatalf("dead-letter topic holds %d records, want %d", len(got), len(want))
	}
	for i, w := range want {
		if string(got[i].Key) != w.key || string(got[i].Value) != w.value || fmt.Sprint(headerMap(got[i].Headers)) != fmt.Sprint(w.headers) {
			t.Fatalf("record %d = %q %q %v, want %q %q %v", i, got[i].Key, got[i].Value, headerMap(got[i].Headers), w.key, w.value, w.headers)
		}
	}
	if n := testutil.ToFloat64(m.deadLettered.WithLabelValues("p")); n != 2 {
		t.Fatalf("dead_lettered_messages_total = %v, want 2", n)
	}
	if n := testutil.ToFloat64(m.produced.WithLabelValues("p")); n != 0 {
		t.Fatalf("produced_messages_total = %v, want 0 for dead letters", n)
	}
}

func TestDeadLetterMissingTopicIsFatal(t *testing.T) {
	verifyNoLeaks(t)
	conn, _ := startKafka(t, 1, "other")
	d, err := NewDeadLetter(DeadLetterOptions{Pipeline: "p", Conn: conn, Topic: "dlq"}, discardLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Connect(ctx); !errors.Is(err, pipeline.ErrFatal) || !errors.Is(err, kafkautil.ErrTopicMissing) {
		t.Fatalf("Connect() = %v, want fatal missing topic", err)
	}
	if err := d.DeadLetter(ctx, []*pipeline.Message{{}}, nil); err == nil {
		t.Fatal("DeadLetter accepted mismatched reasons")
	}
}

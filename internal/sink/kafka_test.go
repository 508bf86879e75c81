package sink

import (
	"bytes"
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

func connectSink(t testing.TB, opts KafkaOptions, m *KafkaSinkMetrics) *Kafka {
	t.Helper()
	k, err := NewKafka(opts, discardLogger(), m)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := k.Connect(ctx); err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = k.Close(context.Background()) })
	return k
}

func write(t *testing.T, k *Kafka, batch []*pipeline.Message) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return k.Write(ctx, batch)
}

func TestKafkaSinkWritesKeysHeadersAndRoutes(t *testing.T) {
	verifyNoLeaks(t)
	conn, _ := startKafka(t, 3, "out", "routed")
	m := NewKafkaSinkMetrics(prometheus.NewRegistry())
	k := connectSink(t, KafkaOptions{Pipeline: "p", Conn: conn, Topic: "out", InstanceID: "i-1", AddHeaders: true}, m)
	received := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	batch := []*pipeline.Message{
		{Key: []byte("a"), Value: []byte("1"), Stream: "orders", ReceivedAt: received, Headers: []pipeline.Header{{Key: "h", Value: []byte("x")}}},
		{Key: []byte("a"), Value: []byte("2"), Stream: "orders", ReceivedAt: received},
		{Key: []byte("b"), Value: []byte("3"), Stream: "orders", ReceivedAt: received, TargetTopic: "routed"},
		{Value: []byte("4"), Stream: "orders", ReceivedAt: received},
	}
	if err := write(t, k, batch); err != nil {
		t.Fatalf("write: %v", err)
	}
	out := readTopic(t, conn, "out", 3)
	routed := readTopic(t, conn, "routed", 3)
	if len(out) != 3 || len(routed) != 1 || string(routed[0].Value) != "3" || string(routed[0].Key) != "b" {
		t.Fatalf("got %d records in out and %d in routed (%v)", len(out), len(routed), routed)
	}
	byValue := map[string]int{}
	for i, r := range out {
		byValue[string(r.Value)] = i
		h := headerMap(r.Headers)
		want := map[string]string{HeaderSourceStream: "orders", HeaderReceivedAt: "2024-05-06T07:08:09.123456789Z", HeaderInstance: "i-1"}
		if string(r.Value) == "1" {
			want["h"] = "x"
		}
		if fmt.Sprint(h) != fmt.Sprint(want) {
			t.Fatalf("record %q headers %v, want %v", r.Value, h, want)
		}
	}
	first, second := out[byValue["1"]], out[byValue["2"]]
	if first.Partition != second.Partition || !bytes.Equal(first.Key, second.Key) || first.Offset >= second.Offset {
		t.Fatalf("same key in partitions %d/%d offsets %d/%d: want one partition, in order", first.Partition, second.Partition, first.Offset, second.Offset)
	}
	if out[byValue["4"]].Key != nil {
		t.Fatalf("nil key written as %q", out[byValue["4"]].Key)
	}
	if got := testutil.ToFloat64(m.produced.WithLabelValues("p")); got != 4 {
		t.Fatalf("produced_messages_total = %v, want 4", got)
	}
}

func TestKafkaSinkConnectErrors(t *testing.T) {
	verifyNoLeaks(t)
	conn, _ := startKafka(t, 1, "out")
	tests := []struct {
		name      string
		opts      KafkaOptions
		wantFatal bool
		wantErr   error
	}{
		{"missing default topic", KafkaOptions{Pipeline: "p", Conn: conn, Topic: "nope"}, true, kafkautil.ErrTopicMissing},
		{"unreachable", KafkaOptions{Pipeline: "p", Conn: kafkautil.Conn{Brokers: []string{"127.0.0.1:1"}, DialTimeout: time.Second}, Topic: "out"}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := NewKafka(tt.opts, discardLogger(), nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = k.Connect(ctx)
			if err == nil || errors.Is(err, pipeline.ErrFatal) != tt.wantFatal || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("Connect() = %v, want fatal=%v %v", err, tt.wantFatal, tt.wantErr)
			}
		})
	}
}

func TestKafkaSinkPoison(t *testing.T) {
	verifyNoLeaks(t)
	conn, _ := startKafka(t, 1, "out")
	k := connectSink(t, KafkaOptions{Pipeline: "p", Conn: conn, Topic: "out", BatchBytes: 300}, nil)
	big := bytes.Repeat([]byte("x"), 400)
	batch := []*pipeline.Message{
		{Value: []byte("ok")},
		{Value: big},
		{Value: []byte("lost"), TargetTopic: "missing"},
	}
	for attempt := 1; attempt < missingTopicChecks; attempt++ {
		err := write(t, k, batch)
		var poison *pipeline.PoisonError
		if err == nil || errors.As(err, &poison) || errors.Is(err, pipeline.ErrFatal) {
			t.Fatalf("attempt %d: %v, want a transient error while the routed topic may still appear", attempt, err)
		}
	}
	err := write(t, k, batch)
	var poison *pipeline.PoisonError
	if !errors.As(err, &poison) || len(poison.Errs) != 2 ||
		!errors.Is(poison.Errs[1], ErrTooLarge) || !errors.Is(poison.Errs[2], kafkautil.ErrTopicMissing) {
		t.Fatalf("write = %v, want poison for messages 1 (too large) and 2 (missing topic)", err)
	}
	if got := readPartition(t, conn, "out", 0); len(got) != 1 || string(got[0].Value) != "ok" {
		t.Fatalf("out holds %v, want the one good record", got)
	}
}

func TestKafkaSinkLifecycle(t *testing.T) {
	verifyNoLeaks(t)
	conn, _ := startKafka(t, 1, "out")
	k, err := NewKafka(KafkaOptions{Pipeline: "p", Conn: conn, Topic: "out"}, discardLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Write(context.Background(), []*pipeline.Message{{Value: []byte("x")}}); !errors.Is(err, pipeline.ErrNotConnected) {
		t.Fatalf("write before connect: %v, want ErrNotConnected", err)
	}
	ctx := context.Background()
	for range 2 {
		if err := k.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		if err := k.Write(ctx, []*pipeline.Message{{Value: []byte("x")}}); err != nil {
			t.Fatal(err)
		}
		if err := k.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if err := k.Close(ctx); err != nil {
			t.Fatalf("second close: %v", err)
		}
	}
	if got := readPartition(t, conn, "out", 0); len(got) != 2 {
		t.Fatalf("wrote %d records over two connections, want 2", len(got))
	}
}

func TestNewKafkaSinkValidates(t *testing.T) {
	conn := kafkautil.Conn{Brokers: []string{"127.0.0.1:1"}}
	tests := []struct {
		name string
		opts KafkaOptions
	}{
		{"bad acks", KafkaOptions{Conn: conn, RequiredAcks: "some"}},
		{"bad compression", KafkaOptions{Conn: conn, Compression: "brotli"}},
		{"negative batch", KafkaOptions{Conn: conn, BatchSize: -1}},
		{"no brokers", KafkaOptions{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewKafka(tt.opts, discardLogger(), nil); err == nil {
				t.Fatal("NewKafka accepted invalid options")
			}
		})
	}
}

// BenchmarkKafkaSinkWrite writes batches of 500 records of 200 bytes to four partitions of an
// in-process broker, with the default BatchTimeout and a longer one: a synchronous Write waits
// BatchTimeout for each partition batch that does not fill up.
func BenchmarkKafkaSinkWrite(b *testing.B) {
	for _, timeout := range []time.Duration{0, time.Millisecond} {
		b.Run("batch_timeout="+orDefault(timeout, defaultBatchTimeout).String(), func(b *testing.B) {
			benchmarkKafkaSinkWrite(b, timeout)
		})
	}
}

func benchmarkKafkaSinkWrite(b *testing.B, timeout time.Duration) {
	conn, _ := startKafka(b, 4, "out")
	k := connectSink(b, KafkaOptions{Pipeline: "bench", Conn: conn, Topic: "out", AddHeaders: true, InstanceID: "i",
		BatchTimeout: timeout}, nil)
	batch := make([]*pipeline.Message, 500)
	value := bytes.Repeat([]byte("v"), 200)
	for i := range batch {
		batch[i] = &pipeline.Message{Key: fmt.Appendf(nil, "key-%d", i), Value: value, Stream: "s", ReceivedAt: time.Now()}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := k.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "msg/s")
}

package source

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/kafkautil"
	"github.com/seabridge/seabridge/internal/pipeline"
)

type readResult struct {
	msg *pipeline.Message
	ack pipeline.AckFunc
}

func newConnected(t *testing.T, opts KafkaOptions) *Kafka {
	t.Helper()
	k, err := NewKafka(opts, discardLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	connect(t, k)
	return k
}

func readN(t *testing.T, k *Kafka, n int) []readResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := make([]readResult, 0, n)
	for len(out) < n {
		m, ack, err := k.Read(ctx)
		if err != nil {
			t.Fatalf("read %d of %d: %v", len(out), n, err)
		}
		out = append(out, readResult{m, ack})
	}
	return out
}

func closeSource(t *testing.T, k *Kafka) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := k.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
}

func TestKafkaSourceReadsEverythingAndCloseCommits(t *testing.T) {
	verifyNoLeaks(t)
	conn := startKafka(t, 2, "in")
	produce(t, conn, "in", 0, 0, 5)
	produce(t, conn, "in", 1, 5, 3)
	k := newConnected(t, testOptions(conn, "g-all", "in"))

	seen := map[string]bool{}
	for _, r := range readN(t, k, 8) {
		m := r.msg
		n := string(m.Value[1:])
		if m.Topic != "in" || string(m.Key) != "k"+n || string(m.Header("h")) != "x"+n || m.ReceivedAt.IsZero() || m.Time.IsZero() {
			t.Fatalf("unexpected message %+v", m)
		}
		if i, _ := strconv.Atoi(n); (i < 5) != (m.Partition == 0) {
			t.Fatalf("message %s on partition %d", n, m.Partition)
		}
		seen[n] = true
		if err := r.ack(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		if err := r.ack(context.Background(), nil); !errors.Is(err, ErrAckedTwice) {
			t.Fatalf("second ack: %v, want ErrAckedTwice", err)
		}
	}
	if len(seen) != 8 {
		t.Fatalf("read %d distinct messages, want 8", len(seen))
	}
	closeSource(t, k)
	closeSource(t, k) // idempotent
	if got := committedOffsets(t, conn, "g-all", "in", 2); got[0] != 5 || got[1] != 3 {
		t.Fatalf("committed %v, want [5 3]", got)
	}
	if _, _, err := k.Read(context.Background()); !errors.Is(err, pipeline.ErrNotConnected) {
		t.Fatalf("read after close: %v, want ErrNotConnected", err)
	}
}

func TestKafkaSourceCommitsContiguousPrefix(t *testing.T) {
	verifyNoLeaks(t)
	conn := startKafka(t, 1, "in")
	produce(t, conn, "in", 0, 0, 5)
	k := newConnected(t, testOptions(conn, "g-prefix", "in"))
	rs := readN(t, k, 5)
	commit := func(want int64) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := k.session().commitNow(ctx); err != nil {
			t.Fatalf("commit: %v", err)
		}
		if got := committedOffsets(t, conn, "g-prefix", "in", 1)[0]; got != want {
			t.Fatalf("committed %d, want %d", got, want)
		}
	}
	for _, i := range []int{0, 1, 3} {
		_ = rs[i].ack(context.Background(), nil)
	}
	commit(2)
	_ = rs[2].ack(context.Background(), nil)
	commit(4)
}

func TestKafkaSourceNackRedeliveredAfterRestart(t *testing.T) {
	verifyNoLeaks(t)
	conn := startKafka(t, 1, "in")
	produce(t, conn, "in", 0, 0, 4)
	opts := testOptions(conn, "g-nack", "in")
	k := newConnected(t, opts)
	rs := readN(t, k, 4)
	_ = rs[0].ack(context.Background(), nil)
	_ = rs[1].ack(context.Background(), errors.New("gave up"))
	_ = rs[2].ack(context.Background(), nil)
	closeSource(t, k)

	k2 := newConnected(t, opts)
	r := readN(t, k2, 1)[0]
	if r.msg.Offset != 1 || string(r.msg.Value) != "v1" {
		t.Fatalf("after restart first message is offset %d %q, want offset 1", r.msg.Offset, r.msg.Value)
	}
	_ = r.ack(context.Background(), nil)
}

func TestKafkaSourceMaxInFlightBlocksRead(t *testing.T) {
	verifyNoLeaks(t)
	conn := startKafka(t, 1, "in")
	produce(t, conn, "in", 0, 0, 3)
	opts := testOptions(conn, "g-inflight", "in")
	opts.MaxInFlight = 2
	k := newConnected(t, opts)
	rs := readN(t, k, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, _, err := k.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read beyond MaxInFlight: %v, want deadline exceeded", err)
	}
	_ = rs[0].ack(context.Background(), nil)
	if r := readN(t, k, 1)[0]; r.msg.Offset != 2 {
		t.Fatalf("read offset %d after ack, want 2", r.msg.Offset)
	}
}

// consumeAll reads and acks from k until stop is closed or ctx ends, reporting each message.
func consumeAll(ctx context.Context, k *Kafka, seen chan<- string) {
	for ctx.Err() == nil {
		m, ack, err := k.Read(ctx)
		if err != nil {
			if errors.Is(err, pipeline.ErrNotConnected) {
				return
			}
			continue
		}
		_ = ack(ctx, nil)
		seen <- fmt.Sprintf("%d/%d", m.Partition, m.Offset)
	}
}

func TestKafkaSourceRebalanceNoLoss(t *testing.T) {
	verifyNoLeaks(t)
	const partitions, perPartition = 4, 5
	conn := startKafka(t, partitions, "in")
	opts := testOptions(conn, "g-rebalance", "in")
	opts.CommitInterval = 50 * time.Millisecond
	a, b := newConnected(t, opts), newConnected(t, opts)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	seen := make(chan string, 1000)
	var wg sync.WaitGroup
	for _, k := range []*Kafka{a, b} {
		wg.Add(1)
		go func() { defer wg.Done(); consumeAll(ctx, k, seen) }()
	}
	got := map[string]bool{}
	await := func(total int) {
		t.Helper()
		for len(got) < total {
			select {
			case s := <-seen:
				got[s] = true
			case <-ctx.Done():
				t.Fatalf("saw %d of %d messages: %v", len(got), total, got)
			}
		}
	}
	for p := range partitions {
		produce(t, conn, "in", p, p*perPartition, perPartition)
	}
	await(partitions * perPartition)
	closeSource(t, a)
	for p := range partitions {
		produce(t, conn, "in", p, 100+p*perPartition, perPartition)
	}
	await(2 * partitions * perPartition)
	closeSource(t, b)
	cancel()
	wg.Wait()
	for p := range partitions {
		for o := range 2 * perPartition {
			if !got[fmt.Sprintf("%d/%d", p, o)] {
				t.Fatalf("message %d/%d never read", p, o)
			}
		}
	}
}

func TestKafkaSourceConnectErrors(t *testing.T) {
	verifyNoLeaks(t)
	conn := startKafka(t, 1, "in")
	tests := []struct {
		name      string
		opts      KafkaOptions
		wantFatal bool
		wantErr   error
	}{
		{"missing topic", testOptions(conn, "g", "nope"), true, kafkautil.ErrTopicMissing},
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
			if errors.Is(err, pipeline.ErrFatal) != tt.wantFatal || !errors.Is(err, tt.wantErr) {
				t.Fatalf("Connect() = %v, want fatal=%v %v", err, tt.wantFatal, tt.wantErr)
			}
		})
	}
}

func TestNewKafkaValidates(t *testing.T) {
	conn := kafkautil.Conn{Brokers: []string{"127.0.0.1:1"}}
	tests := []struct {
		name   string
		mutate func(*KafkaOptions)
	}{
		{"no topics", func(o *KafkaOptions) { o.Topics = nil }},
		{"no group", func(o *KafkaOptions) { o.GroupID = "" }},
		{"bad start", func(o *KafkaOptions) { o.StartOffset = "middle" }},
		{"min over max", func(o *KafkaOptions) { o.MinBytes, o.MaxBytes = 10, 5 }},
		{"no brokers", func(o *KafkaOptions) { o.Conn.Brokers = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := testOptions(conn, "g", "t")
			tt.mutate(&o)
			if _, err := NewKafka(o, discardLogger(), nil); err == nil {
				t.Fatal("NewKafka accepted invalid options")
			}
		})
	}
}

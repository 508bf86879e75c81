package kafkatest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestUniqueTopic(t *testing.T) {
	tests := []struct {
		prefix string
		want   string // the part before the random suffix
	}{
		{"orders", "orders-TestUniqueTopic-orders-"},
		{"a.b_c", "a-b-c-TestUniqueTopic-a-b-c-"},
		{"", "TestUniqueTopic-#00-"},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			got := UniqueTopic(t, tt.prefix)
			want := strings.ReplaceAll(tt.want, "#", "-")
			if !strings.HasPrefix(got, want) || len(got) != len(want)+8 {
				t.Errorf("UniqueTopic(%q) = %q, want %q + 8 hex digits", tt.prefix, got, want)
			}
			if strings.ContainsAny(got, "./_ ") {
				t.Errorf("UniqueTopic(%q) = %q contains a character topics should avoid", tt.prefix, got)
			}
			if again := UniqueTopic(t, tt.prefix); again == got {
				t.Errorf("UniqueTopic returned %q twice", got)
			}
		})
	}
}

func TestRealSkipsWithoutEnv(t *testing.T) {
	t.Setenv(EnvBrokers, "")
	var skipped bool
	t.Run("inner", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Real(t)
	})
	if !skipped {
		t.Fatalf("Real did not skip with %s unset", EnvBrokers)
	}
}

// numbered returns n messages with key k<i>, value v<i> and one header.
func numbered(n int) []kafka.Message {
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{
			Key:     fmt.Appendf(nil, "k%d", i),
			Value:   fmt.Appendf(nil, "v%d", i),
			Headers: []kafka.Header{{Key: "seq", Value: fmt.Appendf(nil, "%d", i)}},
		}
	}
	return msgs
}

// sameContent compares key, value and headers of two message lists, in order.
func sameContent(t *testing.T, got, want []kafka.Message) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !bytes.Equal(g.Key, w.Key) || !bytes.Equal(g.Value, w.Value) {
			t.Errorf("message %d: got key %q value %q, want key %q value %q", i, g.Key, g.Value, w.Key, w.Value)
		}
		if len(g.Headers) != len(w.Headers) {
			t.Errorf("message %d: got %d headers, want %d", i, len(g.Headers), len(w.Headers))
			continue
		}
		for j := range w.Headers {
			if g.Headers[j].Key != w.Headers[j].Key || !bytes.Equal(g.Headers[j].Value, w.Headers[j].Value) {
				t.Errorf("message %d header %d: got %q=%q, want %q=%q", i, j,
					g.Headers[j].Key, g.Headers[j].Value, w.Headers[j].Key, w.Headers[j].Value)
			}
		}
	}
}

func TestProduceAcksAllThenConsume(t *testing.T) {
	ForEachBroker(t, func(t *testing.T, brokers []string) {
		tests := []struct {
			name   string
			create bool // false: the topic is created by the broker on first produce
		}{
			{"created", true},
			{"auto-created", false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				topic := UniqueTopic(t, "produce")
				if tt.create {
					CreateTopic(t, brokers, topic, 1)
				}
				want := numbered(25)
				Produce(t, brokers, topic, want...)
				got := ConsumeN(t, brokers, topic, len(want), 20*time.Second)
				sameContent(t, got, want)
				for i, m := range got {
					if m.Partition != 0 || m.Offset != int64(i) {
						t.Errorf("message %d at %d/%d, want 0/%d", i, m.Partition, m.Offset, i)
					}
				}
				if hw := HighWaterMarks(t, brokers, topic); hw[0] != int64(len(want)) {
					t.Errorf("high-water mark %v, want partition 0 at %d", hw, len(want))
				}
			})
		}
	})
}

func TestCompressionCodecs(t *testing.T) {
	ForEachBroker(t, func(t *testing.T, brokers []string) {
		codecs := []struct {
			name  string
			codec kafka.Compression
		}{
			{"gzip", kafka.Gzip},
			{"snappy", kafka.Snappy},
			{"lz4", kafka.Lz4},
			{"zstd", kafka.Zstd},
		}
		for _, c := range codecs {
			t.Run(c.name, func(t *testing.T) {
				topic := UniqueTopic(t, "codec")
				CreateTopic(t, brokers, topic, 1)
				want := make([]kafka.Message, 20)
				for i := range want {
					want[i] = kafka.Message{Key: fmt.Appendf(nil, "k%d", i), Value: bytes.Repeat(fmt.Appendf(nil, "%s-%d;", c.name, i), 100)}
				}
				writeCompressed(t, brokers, topic, c.codec, want)
				sameContent(t, ConsumeN(t, brokers, topic, len(want), 20*time.Second), want)
			})
		}
	})
}

func writeCompressed(t *testing.T, brokers []string, topic string, codec kafka.Compression, msgs []kafka.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	transport := newTransport()
	defer transport.CloseIdleConnections()
	w := &kafka.Writer{
		Addr: kafka.TCP(brokers...), Topic: topic, Transport: transport,
		RequiredAcks: kafka.RequireAll, Compression: codec,
		BatchSize: len(msgs), BatchTimeout: time.Millisecond,
	}
	err := w.WriteMessages(ctx, msgs...)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("write with %v: %v", codec, err)
	}
}

// groupReader returns a consumer-group Reader tuned for quick joins and
// rebalances; the caller closes it.
func groupReader(brokers []string, group, topic string) *kafka.Reader {
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers:           brokers,
		GroupID:           group,
		Topic:             topic,
		MinBytes:          1,
		MaxBytes:          10 << 20,
		MaxWait:           100 * time.Millisecond,
		StartOffset:       kafka.FirstOffset,
		HeartbeatInterval: 250 * time.Millisecond,
		SessionTimeout:    6 * time.Second,
		RebalanceTimeout:  10 * time.Second,
		JoinGroupBackoff:  100 * time.Millisecond,
	})
}

// fetchN reads n messages with FetchMessage (which never commits).
func fetchN(ctx context.Context, t *testing.T, r *kafka.Reader, n int) []kafka.Message {
	t.Helper()
	msgs := make([]kafka.Message, 0, n)
	for len(msgs) < n {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("fetch message %d of %d: %v", len(msgs)+1, n, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

func TestGroupFetchCommitResume(t *testing.T) {
	ForEachBroker(t, func(t *testing.T, brokers []string) {
		topic := UniqueTopic(t, "group")
		group := UniqueTopic(t, "g")
		CreateTopic(t, brokers, topic, 1)
		want := numbered(10)
		ProduceToPartition(t, brokers, topic, 0, want...)

		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		defer cancel()
		first := groupReader(brokers, group, topic)
		got := fetchN(ctx, t, first, len(want))
		sameContent(t, got, want)
		if committed := CommittedOffsets(t, brokers, group, topic); len(committed) != 0 {
			t.Errorf("FetchMessage committed %v; want nothing committed", committed)
		}
		if err := first.CommitMessages(ctx, got[5]); err != nil {
			t.Fatalf("commit: %v", err)
		}
		if err := first.Close(); err != nil {
			t.Fatalf("close first reader: %v", err)
		}
		if committed := CommittedOffsets(t, brokers, group, topic); len(committed) != 1 || committed[0] != 6 {
			t.Errorf("committed offsets %v, want map[0:6]", committed)
		}

		second := groupReader(brokers, group, topic)
		defer second.Close()
		resumed := fetchN(ctx, t, second, 1)[0]
		if resumed.Offset != 6 || !bytes.Equal(resumed.Value, want[6].Value) {
			t.Errorf("second reader resumed at offset %d value %q, want offset 6 value %q", resumed.Offset, resumed.Value, want[6].Value)
		}
	})
}

func TestOffsetFetchAndListOffsetsPerPartition(t *testing.T) {
	ForEachBroker(t, func(t *testing.T, brokers []string) {
		topic := UniqueTopic(t, "offsets")
		group := UniqueTopic(t, "g")
		CreateTopic(t, brokers, topic, 3)
		counts := map[int]int{0: 3, 1: 0, 2: 5}
		for p, n := range counts {
			if n > 0 {
				ProduceToPartition(t, brokers, topic, p, numbered(n)...)
			}
		}
		hw := HighWaterMarks(t, brokers, topic)
		for p, n := range counts {
			if hw[p] != int64(n) {
				t.Errorf("high-water mark of partition %d = %d, want %d (all: %v)", p, hw[p], n, hw)
			}
		}

		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		defer cancel()
		r := groupReader(brokers, group, topic)
		defer r.Close()
		byPartition := map[int][]kafka.Message{}
		for _, m := range fetchN(ctx, t, r, 8) {
			byPartition[m.Partition] = append(byPartition[m.Partition], m)
		}
		if len(byPartition[0]) != 3 || len(byPartition[2]) != 5 || len(byPartition[1]) != 0 {
			t.Fatalf("fetched per partition %d/%d/%d, want 3/0/5", len(byPartition[0]), len(byPartition[1]), len(byPartition[2]))
		}
		// Commit in the middle of partition 0 and at the end of partition 2.
		if err := r.CommitMessages(ctx, byPartition[0][1], byPartition[2][4]); err != nil {
			t.Fatalf("commit: %v", err)
		}
		got := CommittedOffsets(t, brokers, group, topic)
		if len(got) != 2 || got[0] != 2 || got[2] != 5 {
			t.Errorf("committed offsets %v, want map[0:2 2:5]", got)
		}
		if lag := hw[0] - got[0]; lag != 1 {
			t.Errorf("lag of partition 0 = %d, want 1", lag)
		}
	})
}

// delivery is one message fetched by one of the readers of TestTwoReadersRebalance.
type delivery struct {
	reader int
	value  string
}

func TestTwoReadersRebalance(t *testing.T) {
	ForEachBroker(t, func(t *testing.T, brokers []string) {
		const partitions = 4
		topic := UniqueTopic(t, "rebalance")
		group := UniqueTopic(t, "g")
		CreateTopic(t, brokers, topic, partitions)

		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		deliveries := make(chan delivery, 1024)
		var wg sync.WaitGroup
		startReader := func(id int) *kafka.Reader {
			r := groupReader(brokers, group, topic)
			wg.Add(1)
			go func() {
				defer wg.Done()
				consumeCommitting(ctx, t, r, id, deliveries)
			}()
			return r
		}
		stop := func(readers ...*kafka.Reader) {
			cancel()
			for _, r := range readers {
				r.Close()
			}
			wg.Wait()
		}

		seq := 0
		produced := map[string]bool{}
		produceRound := func() {
			for p := range partitions {
				v := fmt.Sprintf("m%d", seq)
				seq++
				produced[v] = true
				ProduceToPartition(t, brokers, topic, p, kafka.Message{Value: []byte(v)})
			}
		}
		seen := map[int]map[string]bool{0: {}, 1: {}}
		receive := func(d delivery) { seen[d.reader][d.value] = true }

		// Reader 0 alone owns every partition.
		a := startReader(0)
		produceRound()
		for len(seen[0]) < partitions && ctx.Err() == nil {
			select {
			case d := <-deliveries:
				receive(d)
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			stop(a)
			t.Fatalf("reader 0 alone got %d of %d messages", len(seen[0]), partitions)
		}

		// Reader 1 joins: keep producing to every partition until both readers
		// receive new messages, which happens only once the partitions are split.
		b := startReader(1)
		mark := len(seen[0])
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for (len(seen[1]) == 0 || len(seen[0]) == mark) && ctx.Err() == nil {
			select {
			case d := <-deliveries:
				receive(d)
				if d.reader == 1 && len(seen[1]) == 1 {
					mark = len(seen[0])
				}
			case <-tick.C:
				produceRound()
			case <-ctx.Done():
			}
		}
		// The group is now stable with both members (the second could not receive
		// before the first rejoined): what is produced from here goes to exactly
		// one of them.
		split := map[string]bool{}
		for range 5 {
			before := seq
			produceRound()
			for i := before; i < seq; i++ {
				split[fmt.Sprintf("m%d", i)] = true
			}
		}
		// Then everything produced must arrive, at least once, at one of them.
		for !allSeen(produced, seen) && ctx.Err() == nil {
			select {
			case d := <-deliveries:
				receive(d)
			case <-ctx.Done():
			}
		}
		stop(a, b)
		if len(seen[1]) == 0 || len(seen[0]) == mark {
			t.Fatalf("after the second reader joined: reader 0 got %d new, reader 1 got %d; want both > 0",
				len(seen[0])-mark, len(seen[1]))
		}
		if !allSeen(produced, seen) {
			t.Fatalf("of %d produced messages, readers saw %d and %d; some were lost", len(produced), len(seen[0]), len(seen[1]))
		}
		for v := range split {
			if seen[0][v] && seen[1][v] {
				t.Errorf("message %s, produced after the split, reached both readers of one group", v)
			}
		}
	})
}

// consumeCommitting fetches and commits each message and reports it, until ctx
// ends or the reader is closed.
func consumeCommitting(ctx context.Context, t *testing.T, r *kafka.Reader, id int, out chan<- delivery) {
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			return
		}
		if err := r.CommitMessages(ctx, m); err != nil && ctx.Err() == nil {
			t.Logf("reader %d: commit %d/%d: %v", id, m.Partition, m.Offset, err)
		}
		select {
		case out <- delivery{reader: id, value: string(m.Value)}:
		case <-ctx.Done():
			return
		}
	}
}

func allSeen(produced map[string]bool, seen map[int]map[string]bool) bool {
	for v := range produced {
		if !seen[0][v] && !seen[1][v] {
			return false
		}
	}
	return true
}

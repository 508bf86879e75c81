package source

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"

	"github.com/seabridge/seabridge/internal/kafkautil"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// groupOptions returns source options for rebalance tests on kfake or Apache Kafka: a session
// timeout both accept (6s by default), a short heartbeat so that members see a rebalance at
// once, and the given rebalance timeout, half of which bounds the wait for in-flight messages
// when a generation ends.
func groupOptions(brokers []string, group, topic string, rebalance time.Duration) KafkaOptions {
	o := testOptions(kafkautil.Conn{Brokers: brokers, DialTimeout: 5 * time.Second}, group, topic)
	o.SessionTimeout = max(6*time.Second, 2*rebalance)
	o.RebalanceTimeout = rebalance
	o.CommitInterval = 50 * time.Millisecond
	o.PartitionWatchInterval = 100 * time.Millisecond
	return o
}

func numberedMessages(first, n int) []kafka.Message {
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{Value: []byte(fmt.Sprint(first + i))}
	}
	return msgs
}

// commitWatch polls a group's committed offsets and records every value seen per partition.
type commitWatch struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	seen map[int][]int64 // partition -> committed offsets in the order they were seen, changes only
	err  error
}

func watchCommits(t *testing.T, brokers []string, group, topic string, partitions int) *commitWatch {
	w := &commitWatch{stop: make(chan struct{}), done: make(chan struct{}), seen: map[int][]int64{}}
	conn := kafkautil.Conn{Brokers: brokers, DialTimeout: 5 * time.Second}
	client, tr, err := conn.Client()
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int, partitions)
	for i := range ids {
		ids[i] = i
	}
	go func() {
		defer close(w.done)
		defer tr.CloseIdleConnections()
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			resp, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ids}})
			cancel()
			w.mu.Lock()
			if err == nil {
				err = resp.Error
			}
			if err != nil && !errors.Is(err, kafka.GroupIdNotFound) {
				w.err = err
			}
			if err == nil {
				for _, p := range resp.Topics[topic] {
					s := w.seen[p.Partition]
					if p.CommittedOffset >= 0 && (len(s) == 0 || s[len(s)-1] != p.CommittedOffset) {
						w.seen[p.Partition] = append(s, p.CommittedOffset)
					}
				}
			}
			w.mu.Unlock()
			select {
			case <-w.stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(w.halt)
	return w
}

func (w *commitWatch) halt() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// check stops the watch and fails t if a committed offset ever went down.
func (w *commitWatch) check(t *testing.T) {
	t.Helper()
	w.halt()
	if w.err != nil {
		t.Fatalf("watching commits: %v", w.err)
	}
	for p, s := range w.seen {
		for i := 1; i < len(s); i++ {
			if s[i] < s[i-1] {
				t.Errorf("partition %d: committed offset went back from %d to %d (history %v)", p, s[i-1], s[i], s)
			}
		}
	}
}

// awaitOwners waits until each partition of topic is owned by exactly one of the members and
// every member owns one, and returns the owner of each partition.
func awaitOwners(t *testing.T, topic string, partitions int, members ...*Kafka) map[int]*Kafka {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		owners := map[int]*Kafka{}
		owning := map[*Kafka]bool{}
		ok := true
		for p := range partitions {
			n := 0
			for _, m := range members {
				if m.Owns(topic, p) {
					owners[p] = m
					owning[m] = true
					n++
				}
			}
			ok = ok && n == 1
		}
		if ok && len(owning) == len(members) {
			return owners
		}
		if time.Now().After(deadline) {
			t.Fatalf("partitions not shared out among %d members within 30s: %v", len(members), owners)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readPartitionUntil reads from k until it has seen offset last of partition, and returns what
// it read of that partition, in order. Messages of other partitions fail the test.
func readPartitionUntil(t *testing.T, k *Kafka, partition int, last int64) []readResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []readResult
	for len(out) == 0 || out[len(out)-1].msg.Offset < last {
		m, ack, err := k.Read(ctx)
		if err != nil {
			t.Fatalf("read partition %d up to offset %d (read %d): %v", partition, last, len(out), err)
		}
		if m.Partition != partition {
			t.Fatalf("read %d/%d from a member that should own only partition %d", m.Partition, m.Offset, partition)
		}
		out = append(out, readResult{m, ack})
	}
	return out
}

func ackResults(t *testing.T, rs []readResult) {
	t.Helper()
	for _, r := range rs {
		if err := r.ack(context.Background(), nil); err != nil {
			t.Fatalf("ack %d/%d: %v", r.msg.Partition, r.msg.Offset, err)
		}
	}
}

func awaitCommitted(t *testing.T, brokers []string, group, topic string, want map[int]int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := kafkatest.CommittedOffsets(t, brokers, group, topic)
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("committed offsets %v, want %v", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// moveRig is the start of a rebalance test: a topic of two partitions holding offsets 0..9
// each, and member A connected with its own metrics.
type moveRig struct {
	topic, group string
	opts         KafkaOptions
	a            *Kafka
	metrics      *KafkaMetrics
}

func newMoveRig(t *testing.T, brokers []string, rebalance time.Duration) *moveRig {
	t.Helper()
	r := &moveRig{topic: kafkatest.UniqueTopic(t, "src"), group: kafkatest.UniqueTopic(t, "grp")}
	kafkatest.CreateTopic(t, brokers, r.topic, 2)
	for p := range 2 {
		kafkatest.ProduceToPartition(t, brokers, r.topic, p, numberedMessages(0, 10)...)
	}
	r.opts = groupOptions(brokers, r.group, r.topic, rebalance)
	r.metrics = NewKafkaMetrics(prometheus.NewRegistry())
	var err error
	if r.a, err = NewKafka(r.opts, discardLogger(), r.metrics); err != nil {
		t.Fatal(err)
	}
	connect(t, r.a)
	return r
}

// checkUnsettled checks A's count of messages left unsettled by ended generations.
func (r *moveRig) checkUnsettled(t *testing.T, want float64) {
	t.Helper()
	if got := testutil.ToFloat64(r.metrics.revokeUnsettled.WithLabelValues("test")); got != want {
		t.Errorf("revoked_unsettled_messages_total = %v, want %v", got, want)
	}
}

// TestKafkaSourcePartitionMovesWithAcksInFlight moves a partition from member A to a member B
// that joins while A holds unacked messages of it. A commits what it acked before it lets the
// partition go, B starts there (nothing is lost), and A's acks of the moved messages that come
// after the move commit nothing: the committed offsets never go back.
func TestKafkaSourcePartitionMovesWithAcksInFlight(t *testing.T) {
	verifyNoLeaks(t)
	kafkatest.ForEachBroker(t, func(t *testing.T, brokers []string) {
		rig := newMoveRig(t, brokers, 2*time.Second)
		topic, group, opts, a := rig.topic, rig.group, rig.opts, rig.a

		// A reads everything, acks offsets 0..3 of each partition and holds 4..9.
		var inFlight []readResult
		for _, r := range readN(t, a, 20) {
			if r.msg.Offset < 4 {
				ackResults(t, []readResult{r})
			} else {
				inFlight = append(inFlight, r)
			}
		}
		awaitCommitted(t, brokers, group, topic, map[int]int64{0: 4, 1: 4})
		watch := watchCommits(t, brokers, group, topic, 2)

		b := newConnected(t, opts)
		owners := awaitOwners(t, topic, 2, a, b)
		for p := range 2 {
			kafkatest.ProduceToPartition(t, brokers, topic, p, numberedMessages(10, 5)...)
		}
		for p, owner := range owners {
			rs := readPartitionUntil(t, owner, p, 14)
			if first := rs[0].msg.Offset; first != 4 {
				t.Fatalf("the owner of partition %d after the move started at offset %d, want 4 (the acked prefix)", p, first)
			}
			ackResults(t, rs)
		}
		awaitCommitted(t, brokers, group, topic, map[int]int64{0: 15, 1: 15})

		// A's acks of what it held when the partitions moved arrive late.
		ackResults(t, inFlight)
		if err := a.session().commitNow(context.Background()); err != nil {
			t.Fatalf("commit after the late acks: %v", err)
		}
		time.Sleep(4 * opts.CommitInterval) // committer ticks that could commit them
		watch.check(t)
		if got := kafkatest.CommittedOffsets(t, brokers, group, topic); got[0] != 15 || got[1] != 15 {
			t.Fatalf("committed %v after A's late acks, want 15 for both partitions", got)
		}
		rig.checkUnsettled(t, 12) // A's messages 4..9 of both partitions
		if got := testutil.ToFloat64(rig.metrics.rebalances.WithLabelValues("test")); got < 2 {
			t.Errorf("rebalances_total = %v, want at least 2", got)
		}
		closeSource(t, b)
		closeSource(t, a)
	})
}

// TestKafkaSourceRevokeWaitsForInFlightAcks: messages acked while their generation is ending
// are committed before the partitions move, so the next owners read nothing twice.
func TestKafkaSourceRevokeWaitsForInFlightAcks(t *testing.T) {
	verifyNoLeaks(t)
	kafkatest.ForEachBroker(t, func(t *testing.T, brokers []string) {
		rig := newMoveRig(t, brokers, 10*time.Second)
		topic, group, opts, a := rig.topic, rig.group, rig.opts, rig.a
		held := readN(t, a, 20)

		b := newConnected(t, opts)
		deadline := time.Now().Add(20 * time.Second)
		for a.Owns(topic, 0) || a.Owns(topic, 1) {
			if time.Now().After(deadline) {
				t.Fatal("A's generation did not end after B joined")
			}
			time.Sleep(2 * time.Millisecond)
		}
		ackResults(t, held) // while A waits for them
		owners := awaitOwners(t, topic, 2, a, b)
		if got := kafkatest.CommittedOffsets(t, brokers, group, topic); got[0] != 10 || got[1] != 10 {
			t.Fatalf("committed %v when the partitions moved, want 10 for both", got)
		}
		for p := range 2 {
			kafkatest.ProduceToPartition(t, brokers, topic, p, numberedMessages(10, 1)...)
		}
		for p, owner := range owners {
			rs := readPartitionUntil(t, owner, p, 10)
			if len(rs) != 1 {
				t.Errorf("partition %d: the new owner read offsets %d..%d, want only 10", p, rs[0].msg.Offset, rs[len(rs)-1].msg.Offset)
			}
			ackResults(t, rs)
		}
		rig.checkUnsettled(t, 0)
		closeSource(t, b)
		closeSource(t, a)
	})
}

// TestKafkaSourcePicksUpNewPartitions adds a partition to a topic being read: the member is
// assigned it and reads it without a restart.
func TestKafkaSourcePicksUpNewPartitions(t *testing.T) {
	verifyNoLeaks(t)
	kafkatest.ForEachBroker(t, func(t *testing.T, brokers []string) {
		topic, group := kafkatest.UniqueTopic(t, "src"), kafkatest.UniqueTopic(t, "grp")
		kafkatest.CreateTopic(t, brokers, topic, 1)
		k := newConnected(t, groupOptions(brokers, group, topic, 2*time.Second))
		if k.Connected() && !k.Owns(topic, 0) {
			t.Fatal("connected before owning the only partition")
		}
		kafkatest.ProduceToPartition(t, brokers, topic, 0, numberedMessages(0, 1)...)
		ackResults(t, readN(t, k, 1))
		if !k.Connected() {
			t.Fatal("Connected() = false while reading")
		}

		client, tr, err := kafkautil.Conn{Brokers: brokers}.Client()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := client.CreatePartitions(ctx, &kafka.CreatePartitionsRequest{
			Topics: []kafka.TopicPartitionsConfig{{Name: topic, Count: 2}}})
		tr.CloseIdleConnections()
		if err == nil {
			err = resp.Errors[topic]
		}
		if err != nil {
			t.Fatalf("add a partition: %v", err)
		}
		kafkatest.ProduceToPartition(t, brokers, topic, 1, numberedMessages(1, 1)...)
		r := readPartitionUntil(t, k, 1, 0)
		if string(r[0].msg.Value) != "1" {
			t.Fatalf("read %q from the new partition, want \"1\"", r[0].msg.Value)
		}
		ackResults(t, r)
		closeSource(t, k)
	})
}

func connect(t *testing.T, k *Kafka) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := k.Connect(ctx); err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = k.Close(context.Background()) })
}

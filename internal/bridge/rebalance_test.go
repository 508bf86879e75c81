package bridge_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// backgroundProducer produces records to a topic in small chunks until stopped, and keeps
// every record the broker acknowledged. A stop request never interrupts a write, so that what
// was written is known.
type backgroundProducer struct {
	stopping chan struct{}
	done     chan struct{}
	once     sync.Once
	mu       sync.Mutex
	sent     []record
	err      error
}

func startProducing(t *testing.T, brokers []string, topic, prefix string, chunk int, every time.Duration) *backgroundProducer {
	bp := &backgroundProducer{stopping: make(chan struct{}), done: make(chan struct{})}
	p := newProducer(brokers, topic)
	go func() {
		defer close(bp.done)
		defer p.close()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for seq := 0; ; seq += chunk {
			recs := makeRecords(prefix, seq, chunk, 9)
			ctx, cancel := context.WithTimeout(context.Background(), flowTimeout)
			err := p.produce(ctx, recs)
			cancel()
			bp.mu.Lock()
			if err == nil {
				bp.sent = append(bp.sent, recs...)
			}
			bp.err = err
			bp.mu.Unlock()
			if err != nil {
				return
			}
			select {
			case <-tick.C:
			case <-bp.stopping:
				return
			}
		}
	}()
	t.Cleanup(bp.stopNow)
	return bp
}

func (bp *backgroundProducer) stopNow() {
	bp.once.Do(func() { close(bp.stopping) })
	<-bp.done
}

// stop ends production and returns every record the broker acknowledged.
func (bp *backgroundProducer) stop(t *testing.T) []record {
	t.Helper()
	bp.stopNow()
	bp.mu.Lock()
	defer bp.mu.Unlock()
	if bp.err != nil {
		t.Fatalf("background producer: %v", bp.err)
	}
	return bp.sent
}

func (bp *backgroundProducer) count() int {
	bp.mu.Lock()
	defer bp.mu.Unlock()
	return len(bp.sent)
}

// fastGroupLines are consumer-group timings for tests that rebalance: a member notices a
// rebalance within one heartbeat (kafka-go's default is 3s) and retries a failed join soon. The
// session timeout is 6s, the least that Apache Kafka and kfake accept by default
// (group.min.session.timeout.ms).
var fastGroupLines = []string{
	`heartbeat_interval = "300ms"`,
	`session_timeout = "6s"`,
	`rebalance_timeout = "6s"`,
	`join_group_backoff = "200ms"`,
}

// TestKafkaToStreamSeaRebalance runs App A on a 4-partition topic, starts App B in the same
// consumer group while records keep coming, then stops A, still producing: every record must
// reach stream-sea at least once (duplicates are allowed and counted), and the group must end
// committed at the high-water marks.
func TestKafkaToStreamSeaRebalance(t *testing.T) {
	kafkatest.ForEachBroker(t, testRebalance)
}

func testRebalance(t *testing.T, brokers []string) {
	w := newWorld(t, brokers)
	topic, group := kafkatest.UniqueTopic(t, "rebalance"), kafkatest.UniqueTopic(t, "group")
	kafkatest.CreateTopic(t, brokers, topic, 4)
	p := k2sPipe("rebalance-to-streamsea", topic, group, "rebalanced")
	p.sourceLines = fastGroupLines
	sub := w.collect(p.stream)
	prod := startProducing(t, brokers, topic, "rb", 10, 5*time.Millisecond)

	a := w.start("a", w.config(settings{instance: "bridge-a"}, p))
	sub.awaitCount(t, 300, flowTimeout)
	b := w.start("b", w.config(settings{instance: "bridge-b"}, p))
	eventually(t, flowTimeout, "B takes over partitions from A", func() (bool, string) {
		s := b.pipelineStats(t, p.name)
		return s.Out > 0, fmt.Sprintf("B %+v; produced %d, received %d", s.Stats, prod.count(), sub.count())
	})
	before := sub.count()
	sub.awaitCount(t, before+300, flowTimeout)
	if err := a.stop(t); err != nil {
		t.Fatalf("A: Run after cancel = %v, want nil", err)
	}
	aOut := a.pipelineStats(t, p.name).Out
	before = sub.count()
	sub.awaitCount(t, before+300, flowTimeout)
	sent := prod.stop(t)

	got := sub.awaitIDs(t, sent, flowTimeout)
	if err := b.stop(t); err != nil {
		t.Fatalf("B: Run after cancel = %v, want nil", err)
	}
	got = sub.snapshot()
	if extra := missingIDs(got, sent); len(extra) > 0 {
		t.Errorf("%d record(s) that were never produced, e.g. %v", len(extra), extra[:min(5, len(extra))])
	}
	dups, examples := duplicates(got)
	bOut := b.pipelineStats(t, p.name).Out
	t.Logf("produced %d, received %d (%d duplicate(s), e.g. %v); A published %d, B %d", len(sent), len(got), dups, examples, aOut, bOut)
	if aOut == 0 || bOut == 0 {
		t.Errorf("A published %d and B %d, want both to carry some", aOut, bOut)
	}
	checkCommittedAtEnd(t, brokers, group, topic)
}

package bridge_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/seabridge/seabridge/internal/streamsea"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// backgroundPublisher publishes records to a stream over REST in small batches until stopped,
// and keeps every record stream-sea accepted. A stop request never interrupts a publication.
type backgroundPublisher struct {
	stopping chan struct{}
	done     chan struct{}
	once     sync.Once
	mu       sync.Mutex
	sent     []record
	err      error
}

func startPublishing(t *testing.T, c *streamsea.Client, stream, prefix string, chunk int) *backgroundPublisher {
	bp := &backgroundPublisher{stopping: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(bp.done)
		for seq := 0; ; seq += chunk {
			recs := makeRecords(prefix, seq, chunk, 7)
			ctx, cancel := context.WithTimeout(context.Background(), flowTimeout)
			err := publishREST(ctx, c, stream, recs)
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
			case <-bp.stopping:
				return
			default:
			}
		}
	}()
	t.Cleanup(bp.stopNow)
	return bp
}

func (bp *backgroundPublisher) stopNow() {
	bp.once.Do(func() { close(bp.stopping) })
	<-bp.done
}

// stop ends publishing and returns every record stream-sea accepted.
func (bp *backgroundPublisher) stop(t *testing.T) []record {
	t.Helper()
	bp.stopNow()
	bp.mu.Lock()
	defer bp.mu.Unlock()
	if bp.err != nil {
		t.Fatalf("background publisher: %v", bp.err)
	}
	return bp.sent
}

// TestShutdownMidStreamFromStreamSea cancels a stream-sea -> Kafka App while records keep
// being published: everything the bridge received must be in Kafka, once.
func TestShutdownMidStreamFromStreamSea(t *testing.T) {
	shutdownMidStreamFromStreamSea(t)
}

// TestShutdownMidStreamLeavesNothingUndelivered is the same shutdown: nothing the bridge took
// off the websocket may be left undelivered.
func TestShutdownMidStreamLeavesNothingUndelivered(t *testing.T) {
	t.Skip("known bug: at shutdown the runner stops calling Read while deliveries already read " +
		"off the websocket wait in the subscriber's buffer; the stream-sea source's Close counts " +
		"them in seabridge_streamsea_undelivered_messages_total and they are lost")
	if undelivered := shutdownMidStreamFromStreamSea(t); undelivered != 0 {
		t.Errorf("seabridge_streamsea_undelivered_messages_total = %v, want 0", undelivered)
	}
}

// shutdownMidStreamFromStreamSea runs the shutdown scenario, checks that Kafka holds exactly
// what the bridge received, and returns seabridge_streamsea_undelivered_messages_total.
func shutdownMidStreamFromStreamSea(t *testing.T) (undelivered float64) {
	brokers := kafkatest.Brokers(t)
	w := newWorld(t, brokers)
	kafkatest.CreateTopic(t, brokers, "out", 3)
	p := s2kPipe("shutdown-to-kafka", "readings", "out")
	app := w.start("a", w.config(settings{}, p))
	app.awaitReady(t, flowTimeout)
	pub := startPublishing(t, w.rest, p.stream, "live", 40)

	const received = "seabridge_streamsea_received_messages_total"
	eventually(t, flowTimeout, "the bridge receives records", func() (bool, string) {
		v := metricValue(t, app.Registry(), received, p.name)
		return v >= 2000, fmt.Sprintf("%s = %v", received, v)
	})
	if err := app.stop(t); err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
	sent := pub.stop(t)

	n := int(metricValue(t, app.Registry(), received, p.name))
	undelivered = metricValue(t, app.Registry(), "seabridge_streamsea_undelivered_messages_total", p.name)
	inTopic := sumOffsets(kafkatest.HighWaterMarks(t, brokers, p.topic))
	t.Logf("published %d, the bridge received %d, the topic holds %d, undelivered %v", len(sent), n, inTopic, undelivered)
	if n >= len(sent) {
		t.Fatalf("the bridge received all %d published records: the shutdown was not mid-stream", len(sent))
	}
	if inTopic != int64(n) {
		t.Fatalf("the topic holds %d record(s), want the %d the bridge received", inTopic, n)
	}
	got := records(decodeKafka(t, kafkatest.ConsumeN(t, brokers, p.topic, n, flowTimeout)))
	if dups, ex := duplicates(got); dups > 0 {
		t.Errorf("%d duplicate(s), e.g. %v", dups, ex)
	}
	if extra := missingIDs(got, sent); len(extra) > 0 {
		t.Errorf("%d record(s) in Kafka that were never published, e.g. %v", len(extra), extra[:min(5, len(extra))])
	}
	checkKeyOrder(t, got)
	return undelivered
}

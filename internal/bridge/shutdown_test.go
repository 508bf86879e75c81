package bridge_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

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

func (bp *backgroundPublisher) count() int {
	bp.mu.Lock()
	defer bp.mu.Unlock()
	return len(bp.sent)
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
// being published: everything the bridge received must be in Kafka, once, and nothing it took
// off the websocket may be left undelivered.
func TestShutdownMidStreamFromStreamSea(t *testing.T) {
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
	stoppedAt := pub.count()
	eventually(t, flowTimeout, "publishing goes on after the bridge stopped", func() (bool, string) {
		return pub.count() >= stoppedAt+200, fmt.Sprintf("%d published since", pub.count()-stoppedAt)
	})
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

// slowStreamSea is a reverse proxy to the emulator that holds every publish request for delay
// before forwarding it, so that a Kafka -> stream-sea pipeline has work in flight when it stops.
func slowStreamSea(t *testing.T, target string, delay time.Duration) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/publish") {
			timer := time.NewTimer(delay)
			select {
			case <-timer.C:
			case <-r.Context().Done():
				timer.Stop()
				http.Error(rw, `{"message":"client went away"}`, http.StatusServiceUnavailable)
				return
			}
		}
		proxy.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestShutdownMidStreamFromKafka stops a Kafka -> stream-sea App while a slow stream-sea is
// still accepting its batches: every offset the group committed must belong to a record
// stream-sea accepted, and a second App in the same group must deliver the rest, no gap.
func TestShutdownMidStreamFromKafka(t *testing.T) {
	const n = 2000
	brokers := kafkatest.Brokers(t)
	w := newWorld(t, brokers)
	kafkatest.CreateTopic(t, brokers, "in", 3)
	p := k2sPipe("shutdown-to-streamsea", "in", "group", "alarms")
	sub := w.collect(p.stream)
	want := makeRecords("k2s", 0, n, 11)
	kafkatest.Produce(t, brokers, p.topic, kafkaMessages(want)...)
	origin := locate(t, brokers, p.topic, n)

	slow := p
	slow.sourceLines = []string{"max_in_flight = 200"}
	slowURL := slowStreamSea(t, w.emu.URL, 20*time.Millisecond)
	first := w.start("first", w.config(settings{instance: "first", streamseaURL: slowURL}, withBatch(slow, 20)))
	sub.awaitCount(t, 300, flowTimeout)
	if err := first.stop(t); err != nil {
		t.Fatalf("first: Run after cancel = %v, want nil", err)
	}
	// Deliveries of what stream-sea accepted just before the stop may still be on their way to
	// the collector: wait for all of them before comparing with the committed offsets.
	awaitAllAccepted(t, w, sub, p.stream)
	afterFirst := sub.snapshot()
	committed := kafkatest.CommittedOffsets(t, brokers, p.group, p.topic)
	if len(afterFirst) >= n {
		t.Fatalf("the first App delivered all %d records: the shutdown was not mid-stream", n)
	}
	checkCommittedWereAccepted(t, committed, origin, afterFirst)

	second := w.start("second", w.config(settings{instance: "second"}, p))
	got := sub.awaitIDs(t, want, flowTimeout)
	if err := second.stop(t); err != nil {
		t.Errorf("second: Run after cancel = %v, want nil", err)
	}
	dups, _ := duplicates(got)
	t.Logf("first run delivered %d and committed %v; both runs %d (%d duplicate(s))", len(afterFirst), committed, len(got), dups)
	if extra := missingIDs(got, want); len(extra) > 0 {
		t.Errorf("%d record(s) that were never produced, e.g. %v", len(extra), extra[:min(5, len(extra))])
	}
	checkCommittedAtEnd(t, brokers, p.group, p.topic)
}

// withBatch returns p writing batches of at most size messages.
func withBatch(p pipe, size int) pipe {
	p.extraTables = append(p.extraTables, fmt.Sprintf("[pipelines.batch]\nsize = %d", size))
	return p
}

// checkCommittedWereAccepted fails the test unless every record below a committed offset is
// among the records stream-sea accepted.
func checkCommittedWereAccepted(t *testing.T, committed map[int]int64, origin map[string]kafka.Message, accepted []record) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range accepted {
		seen[string(r.json())] = true
	}
	var lost []string
	var covered int
	for value, m := range origin {
		if m.Offset >= committed[m.Partition] {
			continue
		}
		covered++
		if !seen[value] {
			lost = append(lost, fmt.Sprintf("%d@%d", m.Partition, m.Offset))
		}
	}
	if covered == 0 {
		t.Errorf("the first App committed nothing (%v): nothing to check", committed)
	}
	if len(lost) > 0 {
		sort.Strings(lost)
		t.Errorf("%d committed record(s) never reached stream-sea, e.g. %v", len(lost), lost[:min(5, len(lost))])
	}
}

// awaitAllAccepted waits until the collector has received as many records as the emulator
// accepted on stream (the collector is the stream's only subscriber).
func awaitAllAccepted(t *testing.T, w *world, c *collector, stream string) {
	t.Helper()
	eventually(t, flowTimeout, "the collector receives everything stream-sea accepted", func() (bool, string) {
		var published uint64
		for _, st := range w.emu.Server.Stats().Streams {
			if st.Stream == stream {
				published += st.Published
			}
		}
		got := c.count()
		return uint64(got) >= published, fmt.Sprintf("accepted %d, received %d", published, got)
	})
}

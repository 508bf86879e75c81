package bridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/seabridge/seabridge/internal/backoff"
	"github.com/seabridge/seabridge/internal/streamsea"
	"github.com/seabridge/seabridge/internal/testkit/emulatortest"
)

// record is the payload every test sends: a unique id, a key (the Kafka key, and the unit of
// ordering) and a sequence number that grows in publication order.
type record struct {
	ID  string `json:"id"`
	Key string `json:"key"`
	Seq int    `json:"seq"`
}

// makeRecords returns n records numbered from first, spread over keys keys.
func makeRecords(prefix string, first, n, keys int) []record {
	out := make([]record, n)
	for i := range out {
		seq := first + i
		out[i] = record{ID: fmt.Sprintf("%s-%06d", prefix, seq), Key: fmt.Sprintf("%s-k%d", prefix, seq%keys), Seq: seq}
	}
	return out
}

func (r record) json() []byte {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err) // a record always encodes
	}
	return b
}

func ids(recs []record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

// publishREST publishes recs to stream over the REST API in order, alternating single
// publications and batches of up to 25, so that both reach the bridge.
func publishREST(ctx context.Context, c *streamsea.Client, stream string, recs []record) error {
	for i, round := 0, 0; i < len(recs); round++ {
		if round%2 == 0 {
			if err := c.Publish(ctx, stream, recs[i].json()); err != nil {
				return fmt.Errorf("publish %s: %w", recs[i].ID, err)
			}
			i++
			continue
		}
		end := min(i+1+round%25, len(recs))
		batch := make([][]byte, 0, end-i)
		for _, r := range recs[i:end] {
			batch = append(batch, r.json())
		}
		if err := c.PublishBatch(ctx, stream, batch); err != nil {
			return fmt.Errorf("publish batch %s..%s: %w", recs[i].ID, recs[end-1].ID, err)
		}
		i = end
	}
	return nil
}

func mustPublish(t *testing.T, c *streamsea.Client, stream string, recs []record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), flowTimeout)
	defer cancel()
	if err := publishREST(ctx, c, stream, recs); err != nil {
		t.Fatal(err)
	}
}

// kafkaMessages turns recs into Kafka messages keyed by record key.
func kafkaMessages(recs []record) []kafka.Message {
	out := make([]kafka.Message, len(recs))
	for i, r := range recs {
		out[i] = kafka.Message{Key: []byte(r.Key), Value: r.json()}
	}
	return out
}

// producer writes to one topic from any goroutine (the kafkatest helpers are for the test
// goroutine only).
type producer struct {
	w         *kafka.Writer
	transport *kafka.Transport
}

func newProducer(brokers []string, topic string) *producer {
	tr := &kafka.Transport{DialTimeout: 5 * time.Second, MetadataTTL: time.Second}
	return &producer{transport: tr, w: &kafka.Writer{
		Addr: kafka.TCP(brokers...), Topic: topic, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll,
		BatchTimeout: time.Millisecond, Transport: tr,
	}}
}

func (p *producer) produce(ctx context.Context, recs []record) error {
	if err := p.w.WriteMessages(ctx, kafkaMessages(recs)...); err != nil {
		return fmt.Errorf("produce %d record(s) from %s: %w", len(recs), recs[0].ID, err)
	}
	return nil
}

func (p *producer) close() {
	_ = p.w.Close()
	p.transport.CloseIdleConnections()
}

// kafkaRecord is one record read from Kafka, with where it was and its key and headers.
type kafkaRecord struct {
	record
	msg kafka.Message
}

func decodeKafka(t *testing.T, msgs []kafka.Message) []kafkaRecord {
	t.Helper()
	out := make([]kafkaRecord, len(msgs))
	for i, m := range msgs {
		out[i].msg = m
		if err := json.Unmarshal(m.Value, &out[i].record); err != nil {
			t.Fatalf("%s/%d@%d: value %q is not a record: %v", m.Topic, m.Partition, m.Offset, m.Value, err)
		}
	}
	return out
}

func header(m kafka.Message, key string) (string, bool) {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

func sumOffsets(m map[int]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// collector is a websocket subscriber of its own group on one stream, keeping every record it
// receives in arrival order.
type collector struct {
	t    *testing.T
	mu   sync.Mutex
	recs []record
	bad  []string // payloads that were not records
}

// collect subscribes to stream and returns once the subscription is live, so that every later
// publication reaches it. It stops at the end of the test.
func (w *world) collect(stream string) *collector {
	return collectFrom(w.t, w.emu, stream)
}

func collectFrom(t *testing.T, emu *emulatortest.Env, stream string) *collector {
	t.Helper()
	connected := make(chan struct{}, 16)
	sub, err := streamsea.NewSubscriber(streamsea.SubscriberOptions{
		URL: emu.WSURL, ClientID: emu.ClientID, ClientSecret: emu.ClientSecret,
		Subscriptions: []streamsea.Subscription{{Stream: stream, GroupID: newGroupUUID()}},
		Backoff:       backoff.Policy{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		MaxHeld:       8192,
		Hooks:         streamsea.Hooks{OnConnect: func() { connected <- struct{}{} }},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("collector subscriber: %v", err)
	}
	c := &collector{t: t}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = sub.Run(ctx) }()
	go func() { defer wg.Done(); c.drain(ctx, sub) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatalf("collector on %q: not subscribed within 10s", stream)
	}
	return c
}

func (c *collector) drain(ctx context.Context, sub *streamsea.Subscriber) {
	for {
		d, err := sub.Next(ctx)
		if err != nil {
			return
		}
		sub.Release(d)
		var r record
		c.mu.Lock()
		if err := json.Unmarshal(d.Payload, &r); err != nil || r.ID == "" {
			c.bad = append(c.bad, string(d.Payload))
		} else {
			c.recs = append(c.recs, r)
		}
		c.mu.Unlock()
	}
}

// snapshot returns what has been received so far.
func (c *collector) snapshot() []record {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.bad) > 0 {
		c.t.Errorf("collector received %d payload(s) that are not records, e.g. %s", len(c.bad), c.bad[0])
	}
	return slices.Clone(c.recs)
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.recs)
}

// awaitIDs waits until every id of want has been received at least once and returns
// everything received.
func (c *collector) awaitIDs(t *testing.T, want []record, timeout time.Duration) []record {
	t.Helper()
	var got []record
	eventually(t, timeout, "stream-sea receives every record", func() (bool, string) {
		got = c.snapshot()
		missing := missingIDs(want, got)
		if len(missing) == 0 {
			return true, ""
		}
		return false, fmt.Sprintf("received %d (%d distinct of %d wanted); missing e.g. %v",
			len(got), len(want)-len(missing), len(want), missing[:min(5, len(missing))])
	})
	return got
}

// awaitCount waits until at least n records have been received.
func (c *collector) awaitCount(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, fmt.Sprintf("stream-sea receives %d record(s)", n), func() (bool, string) {
		got := c.count()
		return got >= n, fmt.Sprintf("received %d", got)
	})
}

// missingIDs lists the ids of want that got lacks, sorted.
func missingIDs(want, got []record) []string {
	seen := make(map[string]bool, len(got))
	for _, r := range got {
		seen[r.ID] = true
	}
	var missing []string
	for _, r := range want {
		if !seen[r.ID] {
			missing = append(missing, r.ID)
		}
	}
	sort.Strings(missing)
	return missing
}

// duplicates counts the records of got beyond the first of each id.
func duplicates(got []record) (n int, examples []string) {
	seen := make(map[string]bool, len(got))
	for _, r := range got {
		if seen[r.ID] {
			n++
			if len(examples) < 5 {
				examples = append(examples, r.ID)
			}
		}
		seen[r.ID] = true
	}
	return n, examples
}

// checkExactly fails the test unless got holds every record of want exactly once, nothing
// else, and the records of each key in increasing sequence.
func checkExactly(t *testing.T, want, got []record) {
	t.Helper()
	checkNoLossNoDuplicate(t, want, got)
	checkKeyOrder(t, got)
}

// checkNoLossNoDuplicate is checkExactly without the order check, for records that took
// different paths.
func checkNoLossNoDuplicate(t *testing.T, want, got []record) {
	t.Helper()
	if n, ex := duplicates(got); n > 0 {
		t.Errorf("%d duplicate(s), e.g. %v", n, ex)
	}
	if missing := missingIDs(want, got); len(missing) > 0 {
		t.Errorf("%d of %d missing, e.g. %v", len(missing), len(want), missing[:min(5, len(missing))])
	}
	if extra := missingIDs(got, want); len(extra) > 0 {
		t.Errorf("%d unexpected record(s), e.g. %v", len(extra), extra[:min(5, len(extra))])
	}
}

// checkKeyOrder fails the test unless each key's records appear in increasing sequence.
func checkKeyOrder(t *testing.T, got []record) {
	t.Helper()
	last := map[string]int{}
	var bad []string
	for _, r := range got {
		if prev, ok := last[r.Key]; ok && r.Seq <= prev {
			bad = append(bad, fmt.Sprintf("%s: seq %d after %d", r.Key, r.Seq, prev))
		}
		last[r.Key] = r.Seq
	}
	if len(bad) > 0 {
		t.Errorf("%d record(s) out of per-key order, e.g. %s", len(bad), strings.Join(bad[:min(5, len(bad))], "; "))
	}
}

func records(krs []kafkaRecord) []record {
	out := make([]record, len(krs))
	for i, kr := range krs {
		out[i] = kr.record
	}
	return out
}

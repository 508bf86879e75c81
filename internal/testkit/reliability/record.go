package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Check says what is wrong with the content of a message that reached the sink ("" when it
// is as expected). value is the message as the sink holds it (a Kafka record's value, one
// element of a stream-sea delivery).
type Check func(seq int, value []byte) string

// DefaultCheck expects the default payload, unchanged.
func DefaultCheck(seq int, value []byte) string { return SameJSON(value, DefaultPayload(seq)) }

// SameJSON says how got differs from want as JSON values ("" when they are equal, whatever
// the order of object members and the spacing).
func SameJSON(got, want []byte) string {
	if bytes.Equal(got, want) {
		return ""
	}
	var a, b any
	if json.Unmarshal(got, &a) == nil && json.Unmarshal(want, &b) == nil {
		x, _ := json.Marshal(a)
		y, _ := json.Marshal(b)
		if bytes.Equal(x, y) {
			return ""
		}
	}
	return fmt.Sprintf("got %.160s, want %.160s", got, want)
}

// recorderStats are what a recorder could not place in the ledger.
type recorderStats struct {
	foreign      atomic.Int64 // messages without a number of this scenario
	unidentified atomic.Int64 // dead-letter records whose number is gone (value omitted)
	gaps         atomic.Int64 // times the recorder lost its connection (it may have missed messages)
	mu           sync.Mutex
	reasons      map[string]int // dead-letter reasons (seabridge-error), by text
	example      string         // one foreign message
}

func (s *recorderStats) reason(r string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reasons == nil {
		s.reasons = map[string]int{}
	}
	if len(r) > 160 {
		r = r[:160] + "..."
	}
	s.reasons[r]++
}

func (s *recorderStats) foreignMessage(v []byte) {
	s.foreign.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.example == "" {
		s.example = fmt.Sprintf("%.120s", v)
	}
}

// KafkaRecorder reads a sink topic and a dead-letter topic from their start and records
// each copy of each numbered message in the ledger.
type KafkaRecorder struct {
	ledger *Ledger
	sink   string
	dlq    string
	check  Check
	client *kgo.Client
	stats  recorderStats
	// highest is the highest number whose first copy arrived, per sink partition; a first
	// copy below it arrived out of order.
	highest    map[int32]int
	outOfOrder atomic.Int64
	example    atomic.Pointer[string] // the first message out of order
	done       chan struct{}
	cancel     context.CancelFunc
}

func startKafkaRecorder(client *kgo.Client, ledger *Ledger, sink, dlq string, check Check) *KafkaRecorder {
	ctx, cancel := context.WithCancel(context.Background())
	r := &KafkaRecorder{ledger: ledger, sink: sink, dlq: dlq, check: check, client: client,
		highest: map[int32]int{}, done: make(chan struct{}), cancel: cancel}
	go r.run(ctx)
	return r
}

func (r *KafkaRecorder) run(ctx context.Context) {
	defer close(r.done)
	for ctx.Err() == nil {
		fetches := r.client.PollFetches(ctx)
		now := time.Now()
		fetches.EachRecord(func(rec *kgo.Record) {
			seq, ok := seqOf(rec.Value, rec.Key, rec.Headers)
			if rec.Topic == r.dlq {
				r.stats.reason(header(rec, "seabridge-error"))
				if !ok || !r.ledger.DeadLetter(seq, now) {
					r.stats.unidentified.Add(1)
				}
				return
			}
			if !ok {
				r.stats.foreignMessage(rec.Value)
				return
			}
			first, known := r.ledger.arrive(seq, now, r.check(seq, rec.Value))
			if !known {
				r.stats.foreignMessage(rec.Value)
				return
			}
			if first {
				r.order(rec.Partition, seq)
			}
		})
	}
}

// order checks that first copies arrive in increasing order within a partition.
func (r *KafkaRecorder) order(partition int32, seq int) {
	h, seen := r.highest[partition]
	if !seen || seq > h {
		r.highest[partition] = seq
		return
	}
	if r.outOfOrder.Add(1) == 1 {
		e := fmt.Sprintf("seq %d after %d in partition %d", seq, h, partition)
		r.example.Store(&e)
	}
}

func (r *KafkaRecorder) stop() {
	r.cancel()
	<-r.done
}

func header(rec *kgo.Record, key string) string {
	for _, h := range rec.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// StreamseaRecorder subscribes to a stream in a group of its own, directly on the emulator,
// and records each copy of each numbered message in the ledger.
type StreamseaRecorder struct {
	ledger  *Ledger
	wsURL   string
	stream  string
	group   string
	id, key string
	check   Check
	stats   recorderStats

	subscribed chan struct{} // closed at the first confirmed subscription
	once       sync.Once
	cancel     context.CancelFunc
	done       chan struct{}
	mu         sync.Mutex
	conn       *websocket.Conn
}

func startStreamseaRecorder(wsURL, clientID, secret, stream string, ledger *Ledger, check Check) *StreamseaRecorder {
	ctx, cancel := context.WithCancel(context.Background())
	r := &StreamseaRecorder{ledger: ledger, wsURL: wsURL + "/api/v1/streams", stream: stream,
		group: uuid.NewString(), id: clientID, key: secret, check: check,
		subscribed: make(chan struct{}), cancel: cancel, done: make(chan struct{})}
	go r.run(ctx)
	return r
}

// run keeps one subscription open; each reconnect after the first is a gap.
func (r *StreamseaRecorder) run(ctx context.Context) {
	defer close(r.done)
	for first := true; ctx.Err() == nil; first = false {
		if !first {
			r.stats.gaps.Add(1)
			select {
			case <-ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
		_ = r.session(ctx)
	}
}

func (r *StreamseaRecorder) session(ctx context.Context) error {
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, _, err := d.DialContext(ctx, r.wsURL, nil)
	if err != nil {
		return err
	}
	defer conn.Close()
	r.mu.Lock()
	if ctx.Err() != nil { // stopped while dialling: stop has closed the previous conn only
		r.mu.Unlock()
		return ctx.Err()
	}
	r.conn = conn
	r.mu.Unlock()
	conn.SetReadLimit(64 << 20)
	auth := map[string]any{"id": 1, "action": "authenticate",
		"payload": map[string]any{"type": "basic", "clientId": r.id, "clientSecret": r.key}}
	sub := map[string]any{"id": 2, "action": "subscribe", "payload": r.stream, "groupId": r.group}
	for _, f := range []map[string]any{auth, sub} {
		if err := conn.WriteJSON(f); err != nil {
			return err
		}
		var answer struct {
			Success *bool `json:"success"`
		}
		if err := conn.ReadJSON(&answer); err != nil {
			return err
		}
		if answer.Success == nil || !*answer.Success {
			return fmt.Errorf("stream-sea recorder: %v refused", f["action"])
		}
	}
	r.once.Do(func() { close(r.subscribed) })
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return err
		}
		now := time.Now()
		var frame struct {
			Action  string          `json:"action"`
			Payload json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &frame) != nil || frame.Action != "subscription" {
			continue
		}
		elems := []json.RawMessage{frame.Payload}
		if p := bytes.TrimSpace(frame.Payload); len(p) > 0 && p[0] == '[' {
			if json.Unmarshal(p, &elems) != nil {
				r.stats.foreignMessage(frame.Payload)
				continue
			}
		}
		for _, e := range elems {
			seq, ok := seqField(e)
			if !ok || !r.ledger.Arrive(seq, now, r.check(seq, e)) {
				r.stats.foreignMessage(e)
			}
		}
	}
}

// waitSubscribed waits until the recorder's subscription is live.
func (r *StreamseaRecorder) waitSubscribed(timeout time.Duration) error {
	select {
	case <-r.subscribed:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("stream-sea recorder: not subscribed to %s after %v", r.stream, timeout)
	}
}

func (r *StreamseaRecorder) stop() {
	r.cancel()
	r.mu.Lock()
	if r.conn != nil {
		_ = r.conn.Close()
	}
	r.mu.Unlock()
	<-r.done
}

// reasonsText lists the dead-letter reasons, most frequent first, for the notes.
func (s *recorderStats) reasonsText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	type kv struct {
		reason string
		n      int
	}
	var all []kv
	for r, n := range s.reasons {
		all = append(all, kv{r, n})
	}
	sort.Slice(all, func(i, j int) bool {
		return all[i].n > all[j].n || all[i].n == all[j].n && all[i].reason < all[j].reason
	})
	parts := make([]string, len(all))
	for i, e := range all {
		parts[i] = fmt.Sprintf("%dx %q", e.n, e.reason)
	}
	return strings.Join(parts, "; ")
}

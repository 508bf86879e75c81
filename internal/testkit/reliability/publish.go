package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// SeqHeader is the Kafka header that carries a message's sequence number on every record the
// harness produces, so that a record whose value cannot be parsed is still identified (the
// dead-letter topic keeps the original headers).
const SeqHeader = "seq"

// Publisher publishes the numbered messages 0..n-1 in order, at a rate, and marks each one
// the source server accepted in the ledger. A failed publish is retried with the same
// numbers until it is accepted or the publisher is stopped, so that nothing numbered is
// skipped. Pause and Resume hold it between batches.
type Publisher struct {
	ledger *Ledger
	n      int
	rate   int // messages per second
	batch  int // most messages per publish request
	send   func(ctx context.Context, seqs []int) error

	started  atomic.Bool
	next     atomic.Int64
	paused   atomic.Bool
	sending  sync.Mutex // held while a request is out
	failures atomic.Int64
	lastErr  atomic.Pointer[string]

	cancel   context.CancelFunc
	done     chan struct{}
	finished atomic.Pointer[time.Time] // when run returned
}

// doneAt is when the publisher finished (now if it has not).
func (p *Publisher) doneAt() time.Time {
	if t := p.finished.Load(); t != nil {
		return *t
	}
	return time.Now()
}

func newPublisher(ledger *Ledger, rate, batch int, send func(context.Context, []int) error) *Publisher {
	return &Publisher{ledger: ledger, n: ledger.Len(), rate: rate, batch: batch, send: send, done: make(chan struct{})}
}

// start runs the publisher in the background until every message was accepted or Stop.
func (p *Publisher) start() {
	p.started.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go p.run(ctx)
}

func (p *Publisher) run(ctx context.Context) {
	defer close(p.done)
	defer func() { now := time.Now(); p.finished.Store(&now) }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	started, credit := time.Now(), 0.0
	last := started
	for int(p.next.Load()) < p.n {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if p.paused.Load() {
				last = now
				continue
			}
			credit += now.Sub(last).Seconds() * float64(p.rate)
			last = now
			credit = min(credit, float64(p.rate)) // no burst beyond one second's worth after a stall
		}
		for credit >= 1 && int(p.next.Load()) < p.n && !p.paused.Load() {
			from := int(p.next.Load())
			k := min(p.batch, int(credit), p.n-from)
			seqs := make([]int, k)
			for i := range seqs {
				seqs[i] = from + i
			}
			p.sending.Lock()
			ok := p.publish(ctx, seqs)
			p.sending.Unlock()
			if !ok {
				return
			}
			credit -= float64(k)
			p.next.Add(int64(k))
		}
	}
}

// publish sends seqs until they are accepted; false when stopped first.
func (p *Publisher) publish(ctx context.Context, seqs []int) bool {
	for {
		err := p.send(ctx, seqs)
		if err == nil {
			now := time.Now()
			for _, s := range seqs {
				p.ledger.MarkSent(s, now)
			}
			return true
		}
		p.failures.Add(1)
		msg := err.Error()
		p.lastErr.Store(&msg)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Sent is how many messages were accepted so far.
func (p *Publisher) Sent() int { return int(p.next.Load()) }

// Failures is how many publish attempts failed (and were retried), with the last error.
func (p *Publisher) Failures() (int, string) {
	var last string
	if s := p.lastErr.Load(); s != nil {
		last = *s
	}
	return int(p.failures.Load()), last
}

// Pause holds the publisher and returns once its current request (if any) was answered;
// Resume lets it go on.
func (p *Publisher) Pause() {
	p.paused.Store(true)
	p.sending.Lock()
	defer p.sending.Unlock()
}

// Resume undoes Pause.
func (p *Publisher) Resume() { p.paused.Store(false) }

// Done is closed when the publisher has published everything or was stopped.
func (p *Publisher) Done() <-chan struct{} { return p.done }

// Stop stops the publisher and waits for it.
func (p *Publisher) Stop() {
	if !p.started.Load() {
		return
	}
	p.cancel()
	<-p.done
}

// DefaultPayload is the JSON object of a numbered message: its number and some padding.
func DefaultPayload(seq int) []byte {
	return fmt.Appendf(nil, `{"seq":%d,"pad":"%s"}`, seq, padding)
}

// padding makes a message about 200 bytes, a plausible size for a reading or an alarm.
const padding = "The quick brown fox jumps over the lazy dog; the five boxing wizards jump quickly; " +
	"pack my box with five dozen liquor jugs; sphinx of black quartz, judge my vow"

// streamseaSender publishes to a stream over REST, as a JSON array (a batch) per request.
func streamseaSender(url, stream, clientID, secret string, payload func(int) []byte) func(context.Context, []int) error {
	client := &http.Client{Timeout: 10 * time.Second}
	endpoint := url + "/api/v1/streams/" + stream + "/publish"
	return func(ctx context.Context, seqs []int) error {
		var body bytes.Buffer
		body.WriteString(`{"payload":[`)
		for i, s := range seqs {
			if i > 0 {
				body.WriteByte(',')
			}
			body.Write(payload(s))
		}
		body.WriteString(`]}`)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, &body)
		if err != nil {
			return err
		}
		req.SetBasicAuth(clientID, secret)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("publish %d messages to %s: %d %s", len(seqs), stream, resp.StatusCode, bytes.TrimSpace(b))
		}
		return nil
	}
}

// kafkaSender produces records to a topic with acks=all.
func kafkaSender(client *kgo.Client, topic string, record func(int) *kgo.Record) func(context.Context, []int) error {
	return func(ctx context.Context, seqs []int) error {
		recs := make([]*kgo.Record, len(seqs))
		for i, s := range seqs {
			r := record(s)
			r.Topic = topic
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: SeqHeader, Value: []byte(strconv.Itoa(s))})
			recs[i] = r
		}
		// franz-go retries retriable failures itself, idempotently (no duplicates); an
		// error here is one it does not retry (a record too large, a stopped context).
		return client.ProduceSync(ctx, recs...).FirstErr()
	}
}

// DefaultRecord is a Kafka record with the default payload as its value and the number as
// its key.
func DefaultRecord(seq int) *kgo.Record {
	return &kgo.Record{Key: []byte(strconv.Itoa(seq)), Value: DefaultPayload(seq)}
}

// seqOf finds a message's number: the seq header, else the "seq" field of a JSON object
// value, else a key that is a number.
func seqOf(value, key []byte, headers []kgo.RecordHeader) (int, bool) {
	for _, h := range headers {
		if h.Key == SeqHeader {
			if n, err := strconv.Atoi(string(h.Value)); err == nil {
				return n, true
			}
		}
	}
	if n, ok := seqField(value); ok {
		return n, true
	}
	if n, err := strconv.Atoi(string(key)); err == nil && len(key) > 0 {
		return n, true
	}
	return 0, false
}

// seqField is the integer "seq" field of a JSON object.
func seqField(value []byte) (int, bool) {
	var v struct {
		Seq *json.Number `json:"seq"`
	}
	if json.Unmarshal(value, &v) != nil || v.Seq == nil {
		return 0, false
	}
	n, err := strconv.Atoi(v.Seq.String())
	return n, err == nil
}

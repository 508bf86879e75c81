package bridge_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// holdingProxy stands between the bridge and the emulator. It forwards every request, except
// the publishes that hold a record of partition holdPartition at or after offset holdFrom
// (the first one, and any retry of it after a client timeout): those it keeps, unanswered
// and not forwarded, until release. It records which records the emulator accepted
// (publishes answered 200).
type holdingProxy struct {
	t             *testing.T
	target        string
	holdPartition int
	holdFrom      int
	release       chan struct{}
	releaser      sync.Once

	mu       sync.Mutex
	held     []record // the records of partition holdPartition in held requests
	accepted map[string]bool
}

func newHoldingProxy(t *testing.T, target string, partition, from int) (*holdingProxy, string) {
	p := &holdingProxy{t: t, target: target, holdPartition: partition, holdFrom: from,
		release: make(chan struct{}), accepted: map[string]bool{}}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	t.Cleanup(p.releaseOnce)
	return p, srv.URL
}

func (p *holdingProxy) releaseOnce() { p.releaser.Do(func() { close(p.release) }) }

func (p *holdingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	var recs []record
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/publish") {
		recs = publishedRecords(p.t, r.Header.Get("Content-Encoding"), body)
		if p.hold(recs) {
			<-p.release
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		p.mu.Lock()
		for _, rec := range recs {
			p.accepted[rec.ID] = true
		}
		p.mu.Unlock()
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// hold reports whether recs are a request to hold (until release), and records them if so.
func (p *holdingProxy) hold(recs []record) bool {
	select {
	case <-p.release:
		return false
	default:
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var held []record
	hold := false
	for _, rec := range recs {
		if rec.Key == partitionKey(p.holdPartition) {
			held = append(held, rec)
			hold = hold || rec.Seq >= p.holdFrom
		}
	}
	if hold {
		p.held = append(p.held, held...)
	}
	return hold
}

// firstHeld returns the lowest offset of partition holdPartition in a held request, and
// whether a request is held.
func (p *holdingProxy) firstHeld() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	first := -1
	for _, r := range p.held {
		if first < 0 || r.Seq < first {
			first = r.Seq
		}
	}
	return first, first >= 0
}

func (p *holdingProxy) isAccepted(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted[id]
}

// publishedRecords decodes a publish body, {"payload": [...]} or {"payload": {...}}.
func publishedRecords(t *testing.T, encoding string, body []byte) []record {
	if encoding == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Errorf("proxy: gzip body: %v", err)
			return nil
		}
		if body, err = io.ReadAll(zr); err != nil {
			t.Errorf("proxy: gzip body: %v", err)
			return nil
		}
	}
	var batch struct {
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(body, &batch); err != nil {
		t.Errorf("proxy: publish body: %v", err)
		return nil
	}
	var recs []record
	if bytes.HasPrefix(bytes.TrimSpace(batch.Payload), []byte("[")) {
		if err := json.Unmarshal(batch.Payload, &recs); err != nil {
			t.Errorf("proxy: publish payloads: %v", err)
		}
		return recs
	}
	var one record
	if err := json.Unmarshal(batch.Payload, &one); err != nil {
		t.Errorf("proxy: publish payload: %v", err)
	}
	return []record{one}
}

func partitionKey(p int) string { return fmt.Sprintf("p%d", p) }

// partitionRecords returns n records for each of partitions partitions: record o of
// partition p has the key "pP" and the sequence number o, which is its offset in a fresh topic.
func partitionRecords(partitions, n int) [][]record {
	out := make([][]record, partitions)
	for p := range out {
		for o := range n {
			out[p] = append(out[p], record{ID: fmt.Sprintf("p%d-%04d", p, o), Key: partitionKey(p), Seq: o})
		}
	}
	return out
}

// TestKafkaToStreamSeaPublishesCompleteOutOfOrder holds one publish of partition 0 while the
// other partitions' publishes, sent after it, complete. Those partitions must reach stream-sea
// and be committed meanwhile, while the committed offset of partition 0 never passes a
// record the server has not accepted. Once released, everything arrives exactly once, in
// per-partition order, and is committed.
func TestKafkaToStreamSeaPublishesCompleteOutOfOrder(t *testing.T) {
	kafkatest.ForEachBroker(t, func(t *testing.T, brokers []string) {
		const partitions, perPartition, holdFrom = 3, 300, 100
		w := newWorld(t, brokers)
		topic := kafkatest.UniqueTopic(t, "ooo")
		group := kafkatest.UniqueTopic(t, "group")
		kafkatest.CreateTopic(t, brokers, topic, partitions)
		recs := partitionRecords(partitions, perPartition)
		var all []record
		for p, rs := range recs {
			msgs := make([]kafka.Message, len(rs))
			for i, r := range rs {
				msgs[i] = kafka.Message{Key: []byte(r.Key), Value: r.json()}
			}
			kafkatest.ProduceToPartition(t, brokers, topic, p, msgs...)
			all = append(all, rs...)
		}
		proxy, proxyURL := newHoldingProxy(t, w.emu.URL, 0, holdFrom)
		p := k2sPipe("ooo-to-streamsea", topic, group, "positions")
		p.sinkLines = append(p.sinkLines, "max_in_flight_requests = 4")
		p.extraTables = append(p.extraTables, "[pipelines.batch]\nsize = 50\nlinger = \"20ms\"")
		sub := w.collect(p.stream)
		app := w.start("a", w.config(settings{streamseaURL: proxyURL}, p))

		// The other partitions complete around the held publish.
		sub.awaitIDs(t, append(append([]record(nil), recs[1]...), recs[2]...), flowTimeout)
		var firstHeld int
		eventually(t, flowTimeout, "a publish of partition 0 held", func() (bool, string) {
			var held bool
			firstHeld, held = proxy.firstHeld()
			return held, "no publish of partition 0 was held"
		})
		eventually(t, flowTimeout, "partitions 1 and 2 committed while partition 0 is held", func() (bool, string) {
			c := kafkatest.CommittedOffsets(t, brokers, group, topic)
			checkCommitsAccepted(t, proxy, recs, c)
			return c[1] == perPartition && c[2] == perPartition, fmt.Sprintf("committed %v", c)
		})
		for range 5 { // the committer runs every 100ms: give it several chances to go wrong
			time.Sleep(100 * time.Millisecond)
			c := kafkatest.CommittedOffsets(t, brokers, group, topic)
			checkCommitsAccepted(t, proxy, recs, c)
			if got := c[0]; got > int64(firstHeld) {
				t.Fatalf("partition 0 committed up to %d while its record at offset %d is held unaccepted", got, firstHeld)
			}
		}
		for _, r := range sub.snapshot() {
			if r.Key == partitionKey(0) && r.Seq >= firstHeld {
				t.Fatalf("record %s of partition 0 reached stream-sea before the held publish of offset %d", r.ID, firstHeld)
			}
		}

		proxy.releaseOnce()
		sub.awaitIDs(t, all, flowTimeout)
		if err := app.stop(t); err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
		checkExactly(t, all, sub.snapshot())
		checkCommittedAtEnd(t, brokers, group, topic)
	})
}

// checkCommitsAccepted fails the test if a committed offset passes a record the server has
// not accepted: every record below the committed offset of its partition must be accepted.
func checkCommitsAccepted(t *testing.T, proxy *holdingProxy, recs [][]record, committed map[int]int64) {
	t.Helper()
	for p, c := range committed {
		for _, r := range recs[p][:min(int(c), len(recs[p]))] {
			if !proxy.isAccepted(r.ID) {
				t.Fatalf("partition %d committed up to %d, but record %s (offset %d) was not accepted", p, c, r.ID, r.Seq)
			}
		}
	}
}

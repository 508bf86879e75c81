package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"

	"github.com/seabridge/seabridge/internal/streamsea"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
	"github.com/seabridge/seabridge/internal/testkit/proctest"
)

// These tests run the built binary as a process, stop it with SIGTERM and judge its exit code,
// its log lines and what /metrics and /readyz said while it drained.

const (
	procStart = 60 * time.Second // for the process to be ready (group joins take seconds)
	procExit  = 60 * time.Second // for the process to exit after SIGTERM
)

// holdingStreamSea is a reverse proxy to a stream-sea server that holds every publish request
// until the client gives up on it, then answers 503: a stream-sea that cannot keep up. Other
// requests pass through.
type holdingStreamSea struct {
	URL  string
	held atomic.Int64 // publish requests received so far
}

func newHoldingStreamSea(t *testing.T, target string) *holdingStreamSea {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	h := &holdingStreamSea{}
	closing := make(chan struct{})
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/publish") {
			proxy.ServeHTTP(rw, r)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body) // read the body, so that the server notices the client going away
		h.held.Add(1)
		select {
		case <-r.Context().Done():
		case <-closing:
		}
		http.Error(rw, `{"message":"client went away"}`, http.StatusServiceUnavailable)
	}))
	t.Cleanup(func() {
		close(closing)
		srv.Close()
	})
	h.URL = srv.URL
	return h
}

// bridgeConfig is a whole config: one stream-sea and one Kafka connection, and pipelines.
func bridgeConfig(httpAddr, shutdown, streamseaURL string, brokers []string, pipelines ...string) string {
	return fmt.Sprintf(`[bridge]
instance_id = "proc"
shutdown_timeout = %q

[http]
listen = %q

[streamsea.default]
url = %q
client_id = %q
client_secret = %q
reconnect_initial = "50ms"
reconnect_max = "500ms"
request_timeout = "30s"

[kafka.default]
brokers = [%q]
dial_timeout = "5s"
`, shutdown, httpAddr, streamseaURL, proctest.EmulatorClientID, proctest.EmulatorClientSecret, brokers[0]) +
		strings.Join(pipelines, "")
}

// kafkaToStreamSea is a Kafka -> stream-sea pipeline table with small batches.
func kafkaToStreamSea(name, topic, group, stream string) string {
	return fmt.Sprintf(`
[[pipelines]]
name = %q
[pipelines.source]
type = "kafka"
topics = [%q]
group_id = %q
commit_interval = "100ms"
max_wait = "100ms"
[pipelines.sink]
type = "streamsea"
stream = %q
[pipelines.batch]
size = 20
[pipelines.retry]
initial = "50ms"
max = "500ms"
[pipelines.dead_letter]
policy = "stop"
`, name, topic, group, stream)
}

// streamSeaToKafka is a stream-sea -> Kafka pipeline table with small batches.
func streamSeaToKafka(name, stream, topic string) string {
	return fmt.Sprintf(`
[[pipelines]]
name = %q
[pipelines.source]
type = "streamsea"
streams = [%q]
group_id = %q
max_in_flight = 200
[pipelines.sink]
type = "kafka"
topic = %q
batch_timeout = "1ms"
write_timeout = "3s"
max_attempts = 1
[pipelines.batch]
size = 20
[pipelines.retry]
initial = "50ms"
max = "500ms"
[pipelines.dead_letter]
policy = "stop"
`, name, stream, uuid.NewString(), topic)
}

func startBridge(t *testing.T, config string) *proctest.Proc {
	t.Helper()
	path := proctest.WriteFile(t, "bridge.toml", config)
	return proctest.Start(t, proctest.Options{Args: []string{"run", "--config", path}})
}

func produceJSON(t *testing.T, brokers []string, topic string, n int) {
	t.Helper()
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{Value: fmt.Appendf(nil, `{"id":"m-%05d","seq":%d}`, i, i)}
	}
	kafkatest.Produce(t, brokers, topic, msgs...)
}

// drainWatch is what /readyz and /metrics answered between SIGTERM and the exit.
type drainWatch struct {
	scrapes      int     // successful /metrics scrapes
	nacked       float64 // the largest seabridge_pipeline_messages_nacked_total scraped
	shuttingDown bool    // /readyz answered 503 naming "shutting down"
	lastReadyz   string
}

// watchDrain polls /readyz and /metrics of addr until p exits (or timeout).
func watchDrain(t *testing.T, p *proctest.Proc, addr, pipeline string, timeout time.Duration) drainWatch {
	t.Helper()
	var w drainWatch
	deadline := time.Now().Add(timeout)
	for !p.Exited() && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if code, body, err := proctest.Get(ctx, "http://"+addr+"/readyz"); err == nil {
			w.lastReadyz = fmt.Sprintf("%d %s", code, strings.TrimSpace(body))
			if code == http.StatusServiceUnavailable && strings.Contains(body, "shutting down") {
				w.shuttingDown = true
			}
		}
		if m, err := proctest.Scrape(ctx, "http://"+addr+"/metrics"); err == nil {
			w.scrapes++
			w.nacked = max(w.nacked, m.Sum("seabridge_pipeline_messages_nacked_total", `pipeline="`+pipeline+`"`))
		}
		cancel()
		time.Sleep(10 * time.Millisecond)
	}
	return w
}

// summary is one "pipeline stopped" line's counters.
type summary map[string]int

var summaryLine = regexp.MustCompile(`msg="pipeline stopped" pipeline=(\S+) in=(\d+) out=(\d+) filtered=(\d+) dead_lettered=(\d+) dropped=(\d+) nacked=(\d+) undelivered=(\d+)`)

// summaries parses every summary line of stderr, by pipeline; the test fails when a pipeline
// has none or more than one.
func summaries(t *testing.T, stderr string, pipelines ...string) map[string]summary {
	t.Helper()
	out := map[string]summary{}
	for _, m := range summaryLine.FindAllStringSubmatch(stderr, -1) {
		if _, dup := out[m[1]]; dup {
			t.Errorf("two summary lines for pipeline %s", m[1])
		}
		s := summary{}
		for i, k := range []string{"in", "out", "filtered", "dead_lettered", "dropped", "nacked", "undelivered"} {
			s[k], _ = strconv.Atoi(m[i+2])
		}
		out[m[1]] = s
	}
	for _, p := range pipelines {
		if out[p] == nil {
			t.Errorf("no summary line for pipeline %s in stderr:\n%s", p, stderr)
		}
	}
	return out
}

// stopWithBudgetTooShort sends SIGTERM to p and checks what a stop whose budget runs out must
// show: /readyz 503 "shutting down" and a /metrics scrape with nacked messages while the
// bridge drains, exit code 1, and a summary line of pipeline counting at least the nacked
// messages scraped. It returns that summary and stderr.
func stopWithBudgetTooShort(t *testing.T, p *proctest.Proc, addr, pipeline string) (summary, string) {
	t.Helper()
	p.Signal(syscall.SIGTERM)
	w := watchDrain(t, p, addr, pipeline, procExit)
	code := p.Wait(procExit)
	stderr := p.Stderr()
	t.Logf("during the drain: %d scrapes, the largest nacked count %v", w.scrapes, w.nacked)
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if !w.shuttingDown {
		t.Errorf("/readyz never answered 503 \"shutting down\" during the drain; last: %s", w.lastReadyz)
	}
	if w.nacked == 0 {
		t.Errorf("no /metrics scrape during the drain showed nacked messages (%d scrapes)", w.scrapes)
	}
	s := summaries(t, stderr, pipeline)[pipeline]
	if s["nacked"] == 0 || float64(s["nacked"]) < w.nacked {
		t.Errorf("summary %v: want nacked > 0 and at least the %v scraped", s, w.nacked)
	}
	return s, stderr
}

// TestSIGTERMBudgetTooShortKafkaToStreamSea stops a Kafka -> stream-sea bridge whose
// stream-sea holds every publish, with a 1 s budget: exit 1, the loss named in the log and in
// the error, /readyz 503 and /metrics showing the nacked messages while the bridge drains. Kafka
// hangs too, so that closing the source (the offset commit) takes its own budget.
func TestSIGTERMBudgetTooShortKafkaToStreamSea(t *testing.T) {
	emu := proctest.StartEmulator(t)
	brokers, gate := kafkatest.GatedBrokers(t)
	t.Cleanup(gate.Thaw)
	kafkatest.CreateTopic(t, brokers, "in", 1)
	produceJSON(t, brokers, "in", 300)
	slow := newHoldingStreamSea(t, emu.URL)
	addr := proctest.FreeAddr(t)
	p := startBridge(t, bridgeConfig(addr, "1s", slow.URL, brokers, kafkaToStreamSea("k2s", "in", "g", "alarms")))
	proctest.WaitHTTP(t, "http://"+addr+"/readyz", procStart)
	waitFor(t, procStart, "a publish to be held", func() bool { return slow.held.Load() > 0 })

	gate.Freeze()
	s, stderr := stopWithBudgetTooShort(t, p, addr, "k2s")
	for _, re := range []string{
		`level=WARN msg="pipeline gave up on messages; they are read again from the last committed offset" pipeline=k2s nacked=` + strconv.Itoa(s["nacked"]),
		`bridge: pipeline "k2s": shutdown budget expired after 1s: ` + strconv.Itoa(s["nacked"]) + ` message\(s\) nacked`,
	} {
		if !regexp.MustCompile(re).MatchString(stderr) {
			t.Errorf("stderr does not match %s:\n%s", re, stderr)
		}
	}
}

// TestSIGTERMBudgetTooShortStreamSeaToKafka stops a stream-sea -> Kafka bridge whose Kafka is
// too slow for what stream-sea sends, then hangs (closing the sink waits for the produce in
// flight, for its own budget), with a 1 s budget: exit 1, the lost messages (nacked and undelivered) named in the
// log and the error, /metrics showing the nacked ones while the bridge drains.
func TestSIGTERMBudgetTooShortStreamSeaToKafka(t *testing.T) {
	emu := proctest.StartEmulator(t)
	brokers, gate := kafkatest.GatedBrokers(t)
	t.Cleanup(gate.Thaw)
	kafkatest.CreateTopic(t, brokers, "out", 1)
	addr := proctest.FreeAddr(t)
	p := startBridge(t, bridgeConfig(addr, "1s", emu.URL, brokers, streamSeaToKafka("s2k", "readings", "out")))
	proctest.WaitHTTP(t, "http://"+addr+"/readyz", procStart)

	gate.SetDelay(50 * time.Millisecond)
	rest := restClient(t, emu.URL)
	for i := 0; i < 20; i++ {
		batch := make([][]byte, 50)
		for j := range batch {
			batch[j] = fmt.Appendf(nil, `{"id":"r-%05d"}`, i*50+j)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := rest.PublishBatch(ctx, "readings", batch); err != nil {
			t.Fatalf("publish: %v", err)
		}
		cancel()
	}
	waitFor(t, procStart, "the bridge to hold messages in flight", func() bool {
		m := proctest.MustScrape(t, "http://"+addr+"/metrics")
		return m.Sum("seabridge_pipeline_in_flight_messages", `pipeline="s2k"`) > 0
	})

	gate.Freeze()
	s, stderr := stopWithBudgetTooShort(t, p, addr, "s2k")
	lost := s["nacked"] + s["undelivered"]
	if s["in"] != s["out"]+s["nacked"] {
		t.Errorf("summary %v: in != out + nacked", s)
	}
	for _, re := range []string{
		fmt.Sprintf(`level=ERROR msg="pipeline lost messages: read and never written, the source does not redeliver" pipeline=s2k lost=%d nacked=%d undelivered=%d`,
			lost, s["nacked"], s["undelivered"]),
		`bridge: pipeline "s2k": shutdown budget expired after 1s: ` + strconv.Itoa(s["nacked"]) + ` message\(s\) nacked`,
	} {
		if !regexp.MustCompile(re).MatchString(stderr) {
			t.Errorf("stderr does not match %s:\n%s", re, stderr)
		}
	}
}

// TestSIGTERMCleanStop stops a bridge with one pipeline each way after everything crossed:
// exit 0, a summary line per pipeline with nothing lost, no loss line.
func TestSIGTERMCleanStop(t *testing.T) {
	emu := proctest.StartEmulator(t)
	brokers := kafkatest.Brokers(t)
	kafkatest.CreateTopic(t, brokers, "in", 1)
	kafkatest.CreateTopic(t, brokers, "out", 1)
	const n = 100
	produceJSON(t, brokers, "in", n)
	addr := proctest.FreeAddr(t)
	p := startBridge(t, bridgeConfig(addr, "10s", emu.URL, brokers,
		kafkaToStreamSea("k2s", "in", "g", "alarms"), streamSeaToKafka("s2k", "readings", "out")))
	proctest.WaitHTTP(t, "http://"+addr+"/readyz", procStart)
	rest := restClient(t, emu.URL)
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := rest.Publish(ctx, "readings", fmt.Appendf(nil, `{"id":"r-%05d"}`, i)); err != nil {
			t.Fatalf("publish: %v", err)
		}
		cancel()
	}
	waitFor(t, procStart, "both pipelines to write everything", func() bool {
		m := proctest.MustScrape(t, "http://"+addr+"/metrics")
		return m.Sum("seabridge_pipeline_messages_out_total", `pipeline="k2s"`) >= n &&
			m.Sum("seabridge_pipeline_messages_out_total", `pipeline="s2k"`) >= n
	})

	p.Signal(syscall.SIGTERM)
	code := p.Wait(procExit)
	stderr := p.Stderr()
	if code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	for name, s := range summaries(t, stderr, "k2s", "s2k") {
		if s["in"] != n || s["out"] != n || s["nacked"] != 0 || s["undelivered"] != 0 {
			t.Errorf("pipeline %s: summary %v, want in = out = %d and nothing nacked or undelivered", name, s, n)
		}
	}
	for _, bad := range []string{"gave up on messages", "lost messages", "level=ERROR"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("stderr of a clean stop contains %q:\n%s", bad, stderr)
		}
	}
	if !regexp.MustCompile(`level=INFO msg="bridge stopped" after=\S+\n$`).MatchString(stderr) {
		t.Errorf("stderr does not end with the \"bridge stopped\" line:\n%s", stderr)
	}
}

func restClient(t *testing.T, base string) *streamsea.Client {
	t.Helper()
	c, err := streamsea.NewClient(streamsea.ClientOptions{BaseURL: base, ClientID: proctest.EmulatorClientID,
		ClientSecret: proctest.EmulatorClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// waitFor polls cond until it holds; the test fails after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not within %v", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
	"github.com/seabridge/seabridge/internal/testkit/proctest"
)

// stopMargin is what a stop may take beyond its two budgets (draining, then closing): the
// connections a close gives up on being closed, the lag collectors and the HTTP server
// stopping, the process exiting, on a loaded machine.
const stopMargin = 2 * time.Second

// TestSIGTERMWithKafkaHungExitsWithinTwoBudgets stops a bridge whose Kafka broker hung
// (it accepts connections and answers nothing) while a Kafka -> stream-sea pipeline (with a
// dead-letter topic) has acked offsets to commit and a stream-sea -> Kafka pipeline has a produce in flight, with a 1 s
// budget: the process exits 1 within twice the budget (drain, then close) plus a margin,
// instead of waiting for kafka-go's own timeouts (the commit's 5 s, the produce's write
// timeout times its attempts). The offsets that could not be committed are logged, the lost
// stream-sea messages are counted and logged, and /metrics serves the nacked count until the
// process exits.
func TestSIGTERMWithKafkaHungExitsWithinTwoBudgets(t *testing.T) {
	const budget = time.Second
	emu := proctest.StartEmulator(t)
	brokers, gate := kafkatest.GatedBrokers(t)
	t.Cleanup(gate.Thaw)
	kafkatest.CreateTopic(t, brokers, "in", 1)
	kafkatest.CreateTopic(t, brokers, "out", 1)
	kafkatest.CreateTopic(t, brokers, "dlq", 1)
	const n = 50
	produceJSON(t, brokers, "in", n)
	addr := proctest.FreeAddr(t)
	p := startBridge(t, bridgeConfig(addr, budget.String(), emu.URL, brokers,
		fmt.Sprintf(`
[[pipelines]]
name = "k2s"
[pipelines.source]
type = "kafka"
topics = ["in"]
group_id = "g"
commit_interval = "1h" # nothing is committed before the close
max_wait = "100ms"
[pipelines.sink]
type = "streamsea"
stream = "alarms"
[pipelines.dead_letter]
topic = "dlq"

[[pipelines]]
name = "s2k"
[pipelines.source]
type = "streamsea"
streams = ["readings"]
group_id = %q
[pipelines.sink]
type = "kafka"
topic = "out"
batch_timeout = "1ms" # write_timeout and max_attempts keep their defaults: 10s, 3
[pipelines.batch]
size = 10
[pipelines.dead_letter]
policy = "stop"
`, uuid.NewString())))
	proctest.WaitHTTP(t, "http://"+addr+"/readyz", procStart)
	waitFor(t, procStart, "the Kafka -> stream-sea pipeline to publish everything", func() bool {
		m := proctest.MustScrape(t, "http://"+addr+"/metrics")
		return m.Sum("seabridge_pipeline_messages_out_total", `pipeline="k2s"`) >= n
	})

	gate.Freeze()
	rest := restClient(t, emu.URL)
	batch := make([][]byte, 30)
	for i := range batch {
		batch[i] = fmt.Appendf(nil, `{"id":"r-%05d"}`, i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rest.PublishBatch(ctx, "readings", batch); err != nil {
		t.Fatalf("publish: %v", err)
	}
	waitFor(t, procStart, "the stream-sea -> Kafka pipeline to hold messages in flight", func() bool {
		m := proctest.MustScrape(t, "http://"+addr+"/metrics")
		return m.Sum("seabridge_pipeline_in_flight_messages", `pipeline="s2k"`) > 0
	})

	start := time.Now()
	p.Signal(syscall.SIGTERM)
	watched := make(chan drainWatch, 1)
	go func() { watched <- watchDrain(t, p, addr, "s2k", procExit) }()
	code := p.Wait(procExit)
	took := time.Since(start)
	w := <-watched
	stderr := p.Stderr()
	t.Logf("exit %d %v after SIGTERM; %d scrapes during the stop, the largest nacked count %v",
		code, took.Round(time.Millisecond), w.scrapes, w.nacked)
	if bound := 2*budget + stopMargin; took > bound {
		t.Errorf("the bridge exited %v after SIGTERM with a %v budget, want at most %v", took, budget, bound)
	}
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if w.nacked == 0 {
		t.Errorf("no /metrics scrape during the stop showed nacked messages (%d scrapes)", w.scrapes)
	}
	s := summaries(t, stderr, "k2s", "s2k")
	if s["k2s"]["in"] != n || s["k2s"]["out"] != n || s["s2k"]["nacked"] == 0 || float64(s["s2k"]["nacked"]) < w.nacked {
		t.Errorf("summaries %v: want k2s in = out = %d, s2k nacked > 0 and at least the %v scraped", s, n, w.nacked)
	}
	for _, re := range []string{
		fmt.Sprintf(`level=WARN msg="offsets not committed at close; the group reads again from the last committed offsets" pipeline=k2s component=kafka-source offsets="in/0=%d"`, n),
		`level=ERROR msg="pipeline lost messages: read and never written, the source does not redeliver" pipeline=s2k`,
		`bridge: pipeline "k2s": close source: kafka source "k2s": close: offsets in/0=` + fmt.Sprint(n) + ` not committed: context deadline exceeded`,
		`\nclose sink: kafka sink "s2k": close: gave up on a produce in flight`,
	} {
		if !regexp.MustCompile(re).MatchString(stderr) {
			t.Errorf("stderr does not match %s:\n%s", re, stderr)
		}
	}
	if strings.Contains(stderr, "close dead-letter destination") {
		t.Errorf("closing the dead-letter writer, with nothing in flight, failed:\n%s", stderr)
	}
	if lines := strings.Split(strings.TrimSpace(stderr), "\n"); !strings.Contains(strings.Join(lines, "\n"), `msg="bridge stopped"`) {
		t.Errorf("stderr has no \"bridge stopped\" line:\n%s", stderr)
	}
}

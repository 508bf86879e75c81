package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
	"github.com/seabridge/seabridge/internal/testkit/proctest"
)

// spoolTable is a [pipelines.spool] table for the pipeline before it.
func spoolTable(dir string) string {
	return fmt.Sprintf("[pipelines.spool]\ndir = %q\nfsync = \"never\"\n", dir)
}

// publishNumbered publishes the JSON objects {"id":"PREFIX-00000"} ... to stream, in batches.
func publishNumbered(t *testing.T, base, stream, prefix string, n int) {
	t.Helper()
	rest := restClient(t, base)
	for i := 0; i < n; i += 50 {
		batch := make([][]byte, 0, 50)
		for j := i; j < min(i+50, n); j++ {
			batch = append(batch, fmt.Appendf(nil, `{"id":"%s-%05d"}`, prefix, j))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := rest.PublishBatch(ctx, stream, batch)
		cancel()
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
}

// TestSIGTERMWithKafkaHungLeavesTheSpooledMessagesForTheNextStart stops a stream-sea ->
// Kafka bridge with a spool whose Kafka hung (it accepts connections and answers nothing),
// with a 1 s budget: what it read and could not write is nacked, but stays in the spool, so
// the stop loses nothing: exit code 0, a "left in the spool" line naming the count, in the
// summary line too, and no loss line. The bridge started again once Kafka answers writes
// every message to Kafka (counted by id).
func TestSIGTERMWithKafkaHungLeavesTheSpooledMessagesForTheNextStart(t *testing.T) {
	emu := proctest.StartEmulator(t)
	brokers, gate := kafkatest.GatedBrokers(t)
	t.Cleanup(gate.Thaw)
	kafkatest.CreateTopic(t, brokers, "out", 1)
	addr := proctest.FreeAddr(t)
	config := bridgeConfig(addr, "1s", emu.URL, brokers, streamSeaToKafka("s2k", "readings", "out")+spoolTable(t.TempDir()))
	p := startBridge(t, config)
	proctest.WaitHTTP(t, "http://"+addr+"/readyz", procStart)

	gate.Freeze()
	const n = 1000
	publishNumbered(t, emu.URL, "readings", "r", n)
	waitFor(t, procStart, "every message spooled and some read by the pipeline", func() bool {
		m := proctest.MustScrape(t, "http://"+addr+"/metrics")
		return m.Sum("seabridge_spool_appended_records_total", `pipeline="s2k"`) == n &&
			m.Sum("seabridge_streamsea_received_messages_total", `pipeline="s2k"`) == n &&
			m.Sum("seabridge_pipeline_in_flight_messages", `pipeline="s2k"`) > 0
	})

	p.Signal(syscall.SIGTERM)
	code := p.Wait(procExit)
	stderr := p.Stderr()
	if code != 0 {
		t.Errorf("exit code %d, want 0: nothing was lost", code)
	}
	s := summaries(t, stderr, "s2k")["s2k"]
	left := regexp.MustCompile(`msg="pipeline stopped" pipeline=s2k .* undelivered=0 left_in_spool=(\d+)`).FindStringSubmatch(stderr)
	if s["nacked"] == 0 || s["out"] != 0 || len(left) == 0 || left[1] != strconv.Itoa(n) {
		t.Errorf("summary %v, left_in_spool %q: want nothing written, some nacked, all %d left in the spool", s, left, n)
	}
	for _, re := range []string{
		fmt.Sprintf(`level=WARN msg="pipeline left messages in the spool; they are written to Kafka after the next start" pipeline=s2k left_in_spool=%d nacked=%d`, n, s["nacked"]),
		`level=INFO msg="bridge stopped" after=\S+\n$`,
	} {
		if !regexp.MustCompile(re).MatchString(stderr) {
			t.Errorf("stderr does not match %s:\n%s", re, stderr)
		}
	}
	for _, bad := range []string{"lost messages", "shutdown budget expired", "level=ERROR"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("stderr of a stop that lost nothing contains %q:\n%s", bad, stderr)
		}
	}

	gate.Thaw()
	again := startBridge(t, config)
	got := map[string]int{}
	for _, m := range kafkatest.ConsumeN(t, brokers, "out", n, procStart) {
		var v struct{ ID string }
		if err := json.Unmarshal(m.Value, &v); err != nil {
			t.Fatalf("record %q: %v", m.Value, err)
		}
		got[v.ID]++
	}
	for i := range n {
		if id := fmt.Sprintf("r-%05d", i); got[id] == 0 {
			t.Errorf("message %s never reached Kafka", id)
		}
	}
	again.Signal(syscall.SIGTERM)
	if code := again.Wait(procExit); code != 0 {
		t.Errorf("the second bridge exited %d, want 0:\n%s", code, again.Stderr())
	}
	if !strings.Contains(again.Stderr(), "spool opened with records to replay") {
		t.Errorf("the second bridge did not replay the spool:\n%s", again.Stderr())
	}
}

// TestFatalStreamSeaErrorStopsASpooledBridgeWhileKafkaIsDown starts a stream-sea -> Kafka
// bridge with a spool, a client secret stream-sea refuses and no Kafka listening: the
// refusal stops the bridge at once, exit code 1 with the reason, although the sink never
// connects.
func TestFatalStreamSeaErrorStopsASpooledBridgeWhileKafkaIsDown(t *testing.T) {
	emu := proctest.StartEmulator(t)
	nowhere := proctest.FreeAddr(t) // nothing listens: Kafka unreachable
	config := bridgeConfig(proctest.FreeAddr(t), "1s", emu.URL, []string{nowhere},
		streamSeaToKafka("s2k", "readings", "out")+spoolTable(t.TempDir()))
	config = strings.Replace(config, fmt.Sprintf("client_secret = %q", proctest.EmulatorClientSecret), `client_secret = "wrong"`, 1)
	p := startBridge(t, config)
	code := p.Wait(procStart)
	stderr := p.Stderr()
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if !regexp.MustCompile(`(?m)^bridge: pipeline "s2k": source: stream-sea source "s2k": fatal: .*(auth|credential)`).MatchString(stderr) {
		t.Errorf("stderr does not end with the reason naming the pipeline and the refused credentials:\n%s", stderr)
	}
}

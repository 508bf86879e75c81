//go:build reliability

package reliability

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/testkit/reliability"
)

// The spool's scenarios run stream-sea → Kafka on Apache Kafka with [pipelines.spool], one
// partition so that the order of the stream is the order of the topic, and a retry backoff of
// at most 2 s so that the recovery time measures the bridge rather than its backoff.

// spoolScenario begins a spool scenario and returns it with its config.
func spoolScenario(t *testing.T, name string, rate, messages int, spool map[string]any, kills bool) (*reliability.Scenario, *reliability.Config, string) {
	sc := suite.Begin(t, reliability.Setup{Name: name, Direction: reliability.StreamseaToKafka, RealKafka: true,
		Rate: rate, Messages: messages, Batch: 20, Partitions: 1, CheckOrder: true, KillsBridge: kills,
		LossMetrics: []string{"seabridge_spool_dropped_records_total", "seabridge_spool_corrupt_records_total"}})
	dir := filepath.Join(t.TempDir(), "spool")
	table := map[string]any{"dir": dir}
	for k, v := range spool {
		table[k] = v
	}
	cfg := sc.Config()
	cfg.Set("pipelines.0.spool", table)
	cfg.Set("pipelines.0.retry", map[string]any{"initial": "200ms", "max": "2s"})
	return sc, cfg, dir
}

// spoolGauge reads a spool gauge of the scenario's pipeline from b's /metrics.
func spoolGauge(t *testing.T, sc *reliability.Scenario, b *reliability.Bridge, name string) float64 {
	t.Helper()
	m, err := b.Metrics()
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	return m.Sum(name, fmt.Sprintf("pipeline=%q", sc.Pipeline))
}

// waitSpooled waits until the bridge has appended n records to its spool.
func waitSpooled(t *testing.T, sc *reliability.Scenario, b *reliability.Bridge, n int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for spoolGauge(t, sc, b, "seabridge_spool_appended_records_total") < float64(n) {
		if time.Now().After(deadline) {
			t.Fatalf("only %v of %d messages spooled after %v", spoolGauge(t, sc, b, "seabridge_spool_appended_records_total"), n, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitSpoolEmpty waits until the bridge's spool holds no record Kafka has not acknowledged.
func waitSpoolEmpty(t *testing.T, sc *reliability.Scenario, b *reliability.Bridge, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for spoolGauge(t, sc, b, "seabridge_spool_records") > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the spool still holds %v records after %v", spoolGauge(t, sc, b, "seabridge_spool_records"), limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitDelivered waits, after a heal, until every message sent but lost of them has arrived
// (or limit passed).
func waitDelivered(sc *reliability.Scenario, lost int, limit time.Duration) {
	<-sc.Publisher.Done()
	sc.WaitArrived(sc.Publisher.Sent()-lost, limit)
}

// Kafka stopped (SIGKILLed, restarted on its data) for 60 s while 100,000 numbered messages
// are published at 2,000/s: the bridge reads the websocket on into its spool, so stream-sea
// drops nothing, and once Kafka is back every message reaches it, in order. The resident set
// grows by much less than what was spooled: the backlog is on disk, not in memory.
func TestSpoolKafkaStopped60s(t *testing.T) {
	sc, cfg, _ := spoolScenario(t, "Kafka stopped 60 s, spool", 2000, 100000, nil, false)
	b := sc.StartBridge(cfg)
	sc.Publish()
	sc.WaitSent(10000)
	before := lastRSS(b)
	stoppedAt := time.Now()
	var spooledBytes float64
	sc.Hold("Kafka stopped (SIGKILL)", 60*time.Second, func() { sc.Kafka.Kill(t) }, func() {
		spooledBytes = spoolGauge(t, sc, b, "seabridge_spool_bytes")
		sc.Kafka.Restart(t)
	})
	peak := maxRSSBetween(b, stoppedAt, time.Now())
	waitDelivered(sc, 0, 3*time.Minute)
	growth := float64(peak) - float64(before)
	sc.Note("while Kafka was stopped: spool %.1f MiB, RSS %.1f MiB before, peak %.1f MiB (growth %.1f MiB)",
		spooledBytes/(1<<20), float64(before)/(1<<20), float64(peak)/(1<<20), growth/(1<<20))
	sc.Expect(spooledBytes > 10<<20, "the spool held only %.0f bytes during the outage", spooledBytes)
	sc.Expect(growth < spooledBytes/2, "RSS grew by %.1f MiB while %.1f MiB were spooled: the backlog is held in memory",
		growth/(1<<20), spooledBytes/(1<<20))
	st, err := sc.Emulator.StreamStats(sc.Stream)
	sc.Expect(err == nil && st.Dropped == 0, "stream-sea dropped %d messages for a slow subscriber (%v): the spool should have read them", st.Dropped, err)
	sc.Finish()
}

// The bridge SIGKILLed twice while it spools: once while Kafka is cut (the spool holds a
// backlog nobody acknowledged), once while the backlog drains into Kafka (acks in flight).
// Every spooled message reaches Kafka; what stream-sea sent while no bridge was subscribed is
// lost by the protocol and counted by the server, and what it had written to the killed
// process's socket and the process had not yet appended is lost with the process (transit). The duplicates, written again because their
// acks were not yet persisted, are bounded by the unacknowledged window: the messages in
// flight (source.max_in_flight at most) and 100 ms of acks.
func TestSpoolBridgeKilled(t *testing.T) {
	sc, cfg, _ := spoolScenario(t, "bridge SIGKILLed while spooling", 2000, 40000, nil, true)
	b := sc.StartBridge(cfg)
	sc.Publish()
	sc.WaitSent(4000)
	t.Logf("fault: Kafka cut, then SIGKILL the bridge (sent so far %d)", sc.Publisher.Sent())
	sc.Kafka.Proxy.Cut()
	sc.WaitSent(12000)
	b.Restart(time.Second)
	sc.WaitSent(16000)
	if err := sc.Kafka.Proxy.Heal(); err != nil {
		t.Fatal(err)
	}
	sc.HealedFrom("Kafka cut, bridge SIGKILLed")
	time.Sleep(2 * time.Second) // the backlog drains
	t.Logf("fault: SIGKILL the bridge while it drains (sent so far %d)", sc.Publisher.Sent())
	b.Restart(time.Second)
	sc.HealedFrom("bridge SIGKILLed while draining")
	<-sc.Publisher.Done()
	waitSpoolEmpty(t, sc, b, 2*time.Minute) // what was lost while no bridge was subscribed never comes
	r := sc.Finish()
	bound := 10000 + 2*sc.Rate // max_in_flight, and 100 ms of acks with a wide margin
	t.Logf("duplicates after two SIGKILLs: %d (bound %d: source.max_in_flight plus the acks not yet persisted)", r.Duplicated, bound)
	if r.Duplicated > bound {
		t.Errorf("%d duplicates, more than the unacknowledged window allows (%d)", r.Duplicated, bound)
	}
}

// The spool full (max_bytes 1 MiB) while Kafka is cut, for each when_full policy. block: the
// bridge stops reading the websocket and stream-sea drops what it cannot queue (counted by the
// server); nothing spooled is lost. drop_newest: the spool refuses what arrives once full,
// counted; what it kept is the oldest. drop_oldest: the spool deletes its oldest segments,
// counted; what it kept is the newest. Every loss is counted by someone.
func TestSpoolFull(t *testing.T) {
	for _, policy := range []string{"block", "drop_newest", "drop_oldest"} {
		t.Run(policy, func(t *testing.T) {
			sc, cfg, _ := spoolScenario(t, "spool full, when_full = "+policy, 4000, 12000,
				map[string]any{"max_bytes": 1 << 20, "when_full": policy}, false)
			b := sc.StartBridge(cfg)
			sc.Kafka.Proxy.Cut()
			sc.Publish()
			<-sc.Publisher.Done()
			time.Sleep(2 * time.Second) // the websocket's last frames reach the spool
			dropped := spoolGauge(t, sc, b, "seabridge_spool_dropped_records_total")
			if err := sc.Kafka.Proxy.Heal(); err != nil {
				t.Fatal(err)
			}
			sc.HealedFrom("Kafka cut")
			waitDelivered(sc, int(dropped), time.Minute)
			r := sc.Finish()
			sc.Note("dropped by the spool: %.0f", dropped)
			switch policy {
			case "block":
				if dropped != 0 {
					t.Errorf("when_full = block dropped %v records", dropped)
				}
			default:
				if dropped == 0 || r.Lost == 0 {
					t.Errorf("when_full = %s: dropped %v, lost %d: the spool never filled", policy, dropped, r.Lost)
				}
				checkKept(t, sc, policy)
			}
		})
	}
}

// checkKept checks which messages a dropping spool kept: drop_newest keeps the oldest (every
// message lost comes after every message delivered), drop_oldest the newest (every message
// after the last one lost was delivered, the last one sent included).
func checkKept(t *testing.T, sc *reliability.Scenario, policy string) {
	t.Helper()
	l := sc.Ledger
	maxArrived, minLost, maxLost := -1, len(l.Sent), -1
	for i := range l.Sent {
		switch {
		case !l.Sent[i]:
		case l.Arrived[i] > 0:
			maxArrived = i
		default:
			minLost, maxLost = min(minLost, i), i
		}
	}
	switch policy {
	case "drop_newest":
		if maxArrived > minLost {
			t.Errorf("drop_newest lost message %d but delivered the later %d: it dropped old ones", minLost, maxArrived)
		}
	case "drop_oldest":
		if maxLost >= 0 && maxArrived < maxLost {
			t.Errorf("drop_oldest lost message %d, after the last one delivered (%d): it dropped new ones", maxLost, maxArrived)
		}
	}
}

// A spool segment's tail overwritten while the bridge is down (SIGKILLed with Kafka cut, a
// backlog spooled): at the restart the damaged record is cut off, logged and counted, and
// every record before it reaches Kafka.
func TestSpoolCorruptTail(t *testing.T) {
	sc, cfg, dir := spoolScenario(t, "spool segment tail overwritten", 2000, 6000, nil, false)
	b := sc.StartBridge(cfg)
	sc.Kafka.Proxy.Cut()
	sc.Publish()
	<-sc.Publisher.Done()
	waitSpooled(t, sc, b, sc.Publisher.Sent(), 30*time.Second)
	b.Kill()
	seg := newestSegment(t, dir)
	overwriteTail(t, seg, 40) // inside the last record: the payload is longer than 40 bytes
	t.Logf("fault: overwrote the last 40 bytes of %s", filepath.Base(seg))
	b.Start()
	b.WaitReady(90 * time.Second)
	if err := sc.Kafka.Proxy.Heal(); err != nil {
		t.Fatal(err)
	}
	sc.HealedFrom("bridge restarted on a damaged spool")
	waitDelivered(sc, 1, time.Minute)
	r := sc.Finish()
	corrupt := spoolGauge(t, sc, b, "seabridge_spool_corrupt_records_total")
	if corrupt != 1 || r.Lost != 1 {
		t.Errorf("corrupt records counted %v, lost %d: want the one damaged record, counted", corrupt, r.Lost)
	}
	if l := sc.Ledger; l.Arrived[sc.Publisher.Sent()-1] != 0 {
		t.Errorf("the last message, whose bytes were overwritten, reached Kafka")
	}
}

// newestSegment is the spool's segment file with the highest base that holds records.
func newestSegment(t *testing.T, dir string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no segment in %s: %v", dir, err)
	}
	slices.Sort(files)
	for i := len(files) - 1; i >= 0; i-- {
		if st, err := os.Stat(files[i]); err == nil && st.Size() > 16 {
			return files[i]
		}
	}
	t.Fatalf("no segment of %s holds records", dir)
	return ""
}

func overwriteTail(t *testing.T, path string, n int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xA5}, int(n)), st.Size()-n); err != nil {
		t.Fatal(err)
	}
}

func lastRSS(b *reliability.Bridge) uint64 {
	s := b.Samples()
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1].RSS
}

func maxRSSBetween(b *reliability.Bridge, from, to time.Time) uint64 {
	var m uint64
	for _, s := range b.Samples() {
		if !s.At.Before(from) && !s.At.After(to) {
			m = max(m, s.RSS)
		}
	}
	return m
}

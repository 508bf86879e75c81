package bridge_test

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// stoppedTotals adds up, over every "pipeline stopped" line of pipeline in the logs (one per
// instance of it: each reload replaces it), the counters named.
func stoppedTotals(logs, pipeline string, names ...string) map[string]int {
	out := map[string]int{}
	line := regexp.MustCompile(`msg="pipeline stopped" .*\bpipeline=` + regexp.QuoteMeta(pipeline) + ` .*`)
	for _, l := range line.FindAllString(logs, -1) {
		for _, n := range names {
			if m := regexp.MustCompile(` ` + n + `=(\d+)`).FindStringSubmatch(l); m != nil {
				v, _ := strconv.Atoi(m[1])
				out[n] += v
			}
		}
		out["instances"]++
	}
	return out
}

// TestReloadUnderLoadAccountsForEveryMessage reloads, twice, a config that changes both
// pipelines while records flow each way, and accounts for every record by id. Kafka ->
// stream-sea: each record reaches the stream exactly once (the old pipeline commits what it
// wrote before the new one joins the group). stream-sea -> Kafka: each record is in Kafka
// exactly once; the new pipeline subscribes before the old one closes, so that stream-sea
// always has a subscriber (nothing unrouted), and the old one closes its websocket with the
// closing handshake, reading what the server had sent it until the server's answer, so that
// nothing the emulator sent is lost and nothing is dropped. On kfake and, when
// SEABRIDGE_KAFKA_BROKERS is set, Apache Kafka.
func TestReloadUnderLoadAccountsForEveryMessage(t *testing.T) {
	kafkatest.ForEachBroker(t, reloadUnderLoad)
}

func reloadUnderLoad(t *testing.T, brokers []string) {
	w := newWorld(t, brokers)
	s2kTopic, k2sTopic := kafkatest.UniqueTopic(t, "rl-s2k"), kafkatest.UniqueTopic(t, "rl-k2s")
	kafkatest.CreateTopic(t, brokers, s2kTopic, 3)
	kafkatest.CreateTopic(t, brokers, k2sTopic, 3)
	s2k := s2kPipe("s2k", "rl_in", s2kTopic)
	k2s := k2sPipe("k2s", k2sTopic, kafkatest.UniqueTopic(t, "rl-group"), "rl_out")
	cfg := func(batch int) string { return w.config(settings{}, withBatch(s2k, batch), withBatch(k2s, batch)) }
	sub := w.collect(k2s.stream)
	app := w.start("a", cfg(100))
	app.awaitReady(t, flowTimeout)

	pub := startPublishing(t, w.rest, s2k.stream, "s", 20)
	prod := startProducing(t, brokers, k2s.topic, "k", 20, 5*time.Millisecond)
	for i, batch := range []int{50, 200} {
		from := pub.count() + prod.count()
		eventually(t, flowTimeout, "records flow before reload "+strconv.Itoa(i+1), func() (bool, string) {
			return pub.count()+prod.count() >= from+400, ""
		})
		rep := app.reload(t, cfg(batch))
		if !sameNames(rep.Changed, "s2k", "k2s") {
			t.Fatalf("reload %d: %+v, want both pipelines changed", i+1, rep)
		}
	}
	from := pub.count() + prod.count()
	eventually(t, flowTimeout, "records flow after the reloads", func() (bool, string) {
		return pub.count()+prod.count() >= from+400, ""
	})
	published, produced := pub.stop(t), prod.stop(t)

	// Kafka -> stream-sea: every record, once.
	got := sub.awaitIDs(t, produced, flowTimeout)
	checkExactly(t, produced, got)

	// stream-sea -> Kafka.
	var stats struct{ published, delivered, dropped, unrouted uint64 }
	eventually(t, flowTimeout, "the bridge wrote what it read", func() (bool, string) {
		st := app.pipelineStatus(t, "s2k")
		return st.InFlight == 0, ""
	})
	if err := app.stop(t); err != nil {
		t.Fatalf("Run after cancel = %v", err)
	}
	for _, st := range w.emu.Server.Stats().Streams {
		if st.Stream == s2k.stream {
			stats.published, stats.delivered, stats.dropped, stats.unrouted = st.Published, st.Delivered, st.Dropped, st.Unrouted
		}
	}
	inKafka := int(sumOffsets(kafkatest.HighWaterMarks(t, brokers, s2kTopic)))
	recs := records(decodeKafka(t, kafkatest.ConsumeN(t, brokers, s2kTopic, inKafka, flowTimeout)))
	if dups, ex := duplicates(recs); dups > 0 {
		t.Errorf("stream-sea -> Kafka: %d duplicate(s), e.g. %v", dups, ex)
	}
	if extra := missingIDs(recs, published); len(extra) > 0 {
		t.Errorf("%d record(s) in Kafka that were never published, e.g. %v", len(extra), extra[:min(5, len(extra))])
	}
	missing := missingIDs(published, recs)
	totals := stoppedTotals(w.logs.String(), "s2k", "in", "out", "dead_lettered", "nacked", "undelivered")
	received := totals["in"] + totals["undelivered"]
	t.Logf("stream-sea -> Kafka: published %d, in Kafka %d, missing %d; emulator delivered %d, dropped %d, unrouted %d; bridge (%d instances) read %d, wrote %d, undelivered %d",
		len(published), inKafka, len(missing), stats.delivered, stats.dropped, stats.unrouted, totals["instances"], totals["in"], totals["out"], totals["undelivered"])
	switch {
	case totals["instances"] != 3:
		t.Errorf("%d pipeline stopped lines of s2k, want 3 (two reloads, one stop)", totals["instances"])
	case stats.published != uint64(len(published)):
		t.Errorf("the emulator counts %d published, the publisher %d", stats.published, len(published))
	case stats.unrouted != 0:
		t.Errorf("%d record(s) published while the stream had no subscriber: the new pipeline must subscribe before the old one leaves", stats.unrouted)
	case totals["out"] != totals["in"] || totals["nacked"] != 0 || totals["undelivered"] != 0 || totals["dead_lettered"] != 0:
		t.Errorf("the bridge read %d and wrote %d (nacked %d, undelivered %d, dead-lettered %d): it lost what it had received",
			totals["in"], totals["out"], totals["nacked"], totals["undelivered"], totals["dead_lettered"])
	case inKafka != totals["out"]:
		t.Errorf("Kafka holds %d, the bridge wrote %d", inKafka, totals["out"])
	case stats.dropped != 0 || stats.delivered != uint64(received):
		t.Errorf("the emulator dropped %d and sent %d, the bridge received %d: messages were lost at a reload",
			stats.dropped, stats.delivered, received)
	case len(missing) != 0:
		t.Errorf("%d record(s) missing from Kafka, e.g. %v", len(missing), missing[:min(5, len(missing))])
	}
}

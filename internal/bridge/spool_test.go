package bridge_test

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/seabridge/seabridge/internal/pipeline"

	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// spooled is p with a spool in dir.
func spooled(p pipe, dir string, lines ...string) pipe {
	table := fmt.Sprintf("[pipelines.spool]\ndir = %q\nfsync = \"never\"", dir)
	for _, l := range lines {
		table += "\n" + l
	}
	p.extraTables = append(p.extraTables, table)
	return p
}

// TestSpoolReceivesWhileKafkaIsUnreachableAtStart starts a bridge whose Kafka has nothing
// listening: with a spool it subscribes at once, is ready, and spools what stream-sea sends;
// once a broker listens on that address, every message reaches it, in order per key. Without
// a spool nothing would be subscribed until Kafka answered, and these messages would be lost.
func TestSpoolReceivesWhileKafkaIsUnreachableAtStart(t *testing.T) {
	w, port, p := newSpoolWorld(t)
	brokers, topic := w.brokers, p.topic
	app := w.start("a", w.config(settings{}, p))
	app.awaitReady(t, flowTimeout) // ready on the websocket alone: Kafka is down

	const n = 500
	want := makeRecords("spool", 0, n, 7)
	mustPublish(t, w.rest, p.stream, want)
	eventually(t, flowTimeout, "every message spooled while Kafka is down", func() (bool, string) {
		got := metricValue(t, app.Registry(), "seabridge_spool_appended_records_total", p.name)
		return got == n, fmt.Sprintf("%v of %d spooled", got, n)
	})
	if up := metricValue(t, app.Registry(), "seabridge_pipeline_up", p.name); up != 0 {
		t.Fatalf("seabridge_pipeline_up = %v with Kafka down, want 0", up)
	}

	startKafkaOn(t, port, topic)
	got := decodeKafka(t, kafkatest.ConsumeN(t, brokers, topic, n, flowTimeout))
	checkExactly(t, want, records(got))
	checkKeyOrder(t, records(got))
	eventually(t, flowTimeout, "the spool emptied by Kafka's acks", func() (bool, string) {
		left := metricValue(t, app.Registry(), "seabridge_spool_records", p.name)
		return left == 0, fmt.Sprintf("%v records left", left)
	})
	if err := app.stop(t); err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
}

// TestSpoolKeepsWhatKafkaDidNotTakeAcrossARestart stops a bridge while Kafka is down, with
// messages spooled, and starts another on the same spool once Kafka is back: it delivers them.
func TestSpoolKeepsWhatKafkaDidNotTakeAcrossARestart(t *testing.T) {
	w, port, p := newSpoolWorld(t)
	brokers, topic := w.brokers, p.topic
	toml := w.config(settings{shutdown: "1s"}, p)
	first := w.start("a", toml)
	first.awaitReady(t, flowTimeout)
	const n = 300
	want := makeRecords("restart", 0, n, 5)
	mustPublish(t, w.rest, p.stream, want)
	eventually(t, flowTimeout, "every message spooled", func() (bool, string) {
		got := metricValue(t, first.Registry(), "seabridge_spool_appended_records_total", p.name)
		return got == n, fmt.Sprintf("%v of %d spooled", got, n)
	})
	_ = first.stop(t) // Kafka is down: nothing can be written, everything stays spooled

	startKafkaOn(t, port, topic)
	second := w.start("b", toml)
	got := decodeKafka(t, kafkatest.ConsumeN(t, brokers, topic, n, flowTimeout))
	checkExactly(t, want, records(got))
	if err := second.stop(t); err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
}

// TestSpoolDropsAreLossesOfTheStop fills a spool (1 MiB, when_full = "drop_newest") while
// Kafka is unreachable and stops the bridge: what the spool dropped is lost, so the stop
// names it (Run's error, the summary line, the loss line), while what stays in the spool is no
// loss and is named as left there.
func TestSpoolDropsAreLossesOfTheStop(t *testing.T) {
	w, _, p := newSpoolWorld(t)
	p.extraTables = nil
	p = spooled(p, t.TempDir(), "max_bytes = 1048576", `when_full = "drop_newest"`)
	app := w.start("a", w.config(settings{shutdown: "1s"}, p))
	app.awaitReady(t, flowTimeout)
	const n = 2000 // about 900 bytes each on disk: twice what fits
	mustPublish(t, w.rest, p.stream, makeRecords(strings.Repeat("x", 400), 0, n, 7))
	eventually(t, flowTimeout, "every message spooled or dropped", func() (bool, string) {
		appended := metricValue(t, app.Registry(), "seabridge_spool_appended_records_total", p.name)
		dropped := metricValue(t, app.Registry(), "seabridge_spool_dropped_records_total", p.name)
		return appended+dropped == n && dropped > 0, fmt.Sprintf("%v spooled, %v dropped of %d", appended, dropped, n)
	})
	dropped := int(metricValue(t, app.Registry(), "seabridge_spool_dropped_records_total", p.name))
	left := n - dropped
	err := app.stop(t)
	want := fmt.Sprintf("%d message(s) %s", dropped, pipeline.ErrUndelivered)
	if !errors.Is(err, pipeline.ErrUndelivered) || !strings.Contains(err.Error(), want) {
		t.Errorf("Run = %v, want it to name the %d dropped: %q", err, dropped, want)
	}
	if errors.Is(err, pipeline.ErrShutdownTimeout) {
		t.Errorf("Run = %v: what stays in the spool is not given up on", err)
	}
	for _, line := range []string{
		fmt.Sprintf(`msg="pipeline stopped" app=a pipeline=%s in=0 out=0 filtered=0 dead_lettered=0 dropped=0 nacked=0 undelivered=%d left_in_spool=%d`, p.name, dropped, left),
		fmt.Sprintf(`level=INFO msg="pipeline left messages in the spool; they are written to Kafka after the next start" app=a pipeline=%s left_in_spool=%d nacked=0`, p.name, left),
		fmt.Sprintf(`level=ERROR msg="pipeline lost messages: received and never spooled, or dropped or damaged in the spool" app=a pipeline=%s lost=%d undelivered=%d`, p.name, dropped, dropped),
	} {
		if !strings.Contains(w.logs.String(), line) {
			t.Errorf("the log has no line %s", line)
		}
	}
}

// newSpoolWorld is a world whose Kafka address has nothing listening yet (start one with
// startKafkaOn), and a stream-sea -> Kafka pipeline with a spool.
func newSpoolWorld(t *testing.T) (*world, int, pipe) {
	port := freePort(t)
	w := newWorld(t, []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(port))})
	p := s2kPipe("spooled", "boiler", "spooled")
	p.deadLetter, p.dlqTopic = "dlq", "spooled.dlq" // connected before the sink otherwise
	return w, port, spooled(p, t.TempDir())
}

// startKafkaOn starts an in-process broker on 127.0.0.1:port holding topic and its
// dead-letter topic.
func startKafkaOn(t *testing.T, port int, topic string) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.SeedTopics(3, topic, topic+".dlq"))
	if err != nil {
		t.Fatalf("start kfake on port %d: %v", port, err)
	}
	t.Cleanup(cluster.Close)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

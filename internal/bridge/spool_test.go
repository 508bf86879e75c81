package bridge_test

import (
	"fmt"
	"net"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

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

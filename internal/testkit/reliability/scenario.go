package reliability

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/seabridge/seabridge/internal/testkit/faultproxy"
	"github.com/seabridge/seabridge/internal/testkit/proctest"
)

// Direction is which way a scenario's pipeline moves messages.
type Direction string

// The two directions.
const (
	StreamseaToKafka Direction = "stream-sea → Kafka"
	KafkaToStreamsea Direction = "Kafka → stream-sea"
)

// Setup describes a scenario. Zero values take the defaults named.
type Setup struct {
	Name      string // the row's name in the table
	Direction Direction
	RealKafka bool // Apache Kafka (scripts/kafka.sh) instead of kfake

	Rate       int // messages per second; default Scale(1000, 250)
	Messages   int // numbered messages; default Rate × Scale(30, 20) s of publishing
	Batch      int // messages per publish request; default 10
	Partitions int // of the Kafka topic (the source or the sink); default 3

	EmulatorArgs []string          // extra `bridge emulator` flags
	TopicConfigs map[string]string // configs of the Kafka topic (the source or the sink)

	// Emulator and Kafka, when set, are another scenario's servers, shared (a bridge with a
	// pipeline of each scenario, as in the soak); else the scenario starts its own.
	Emulator *Emulator
	Kafka    *Kafka

	Payload func(seq int) []byte      // stream-sea → Kafka: what is published; default DefaultPayload
	Record  func(seq int) *kgo.Record // Kafka → stream-sea: what is produced; default DefaultRecord
	Poison  func(seq int) bool        // messages that belong in the dead-letter topic
	Check   Check                     // content at the sink; default DefaultCheck

	// CheckOrder fails the verdict when a message reaches a partition of the sink topic
	// (stream-sea → Kafka) before one with a lower number that arrived there too.
	CheckOrder bool
	// LossMetrics are counters of the bridge (besides the nacked and undelivered ones) that
	// count messages it gave up on, e.g. a spool's drops; with a log line naming them (see
	// lossPatterns), what they count is lost by the bridge, counted.
	LossMetrics []string

	// KillsBridge says the scenario SIGKILLs a stream-sea → Kafka bridge: what the server
	// wrote to the killed process's connection and the process had not yet spooled or written
	// (socket buffers, the message being appended) is lost with it, in transit like a reset
	// connection's, though no disconnect could be logged.
	KillsBridge bool

	// AllowTransit says the scenario breaks the bridge's connection to stream-sea on purpose:
	// what the server wrote to it and the bridge never read is lost by the network, not the
	// bridge, when the bridge counted the disconnect.
	AllowTransit bool
}

// Scenario is one running scenario: its servers, its bridges, its publisher and recorders,
// and the ledger of its numbered messages. Methods are called from the test's goroutine.
type Scenario struct {
	T *testing.T
	Setup
	Suite    *Suite
	Emulator *Emulator
	Kafka    *Kafka
	Ledger   *Ledger

	Pipeline string // the pipeline's name: "s2k" or "k2s"
	Topic    string // the Kafka topic: source (Kafka → stream-sea) or sink (stream-sea → Kafka)
	DLQ      string // the dead-letter topic
	Stream   string // the stream-sea stream
	Group    string // the source's group id

	Publisher *Publisher
	bridges   []*Bridge
	kafkaRec  *KafkaRecorder
	streamRec *StreamseaRecorder
	heals     []heal
	proxies0  [2]faultproxy.Stats // the proxies' counters when the scenario began (stream-sea, Kafka)
	failures  []string
	notes     []string
	started   time.Time
	finished  bool
}

var unsafeName = regexp.MustCompile(`[^a-z0-9]+`)

// Begin starts a scenario's servers and recorders: the emulator behind its proxy, the Kafka
// broker, the topics, and a recorder at the far side (and on the dead-letter topic). The
// publisher is ready but not started (Publish).
//
// In a short run, scenarios on kfake run in parallel with each other (each has servers and
// bridges of its own); scenarios on the shared Apache Kafka never do, so that a fault on it
// touches one scenario only.
func (s *Suite) Begin(t *testing.T, setup Setup) *Scenario {
	t.Helper()
	if s.Short && !setup.RealKafka && setup.Kafka == nil {
		t.Parallel()
	}
	if setup.Rate == 0 {
		setup.Rate = s.Scale(1000, 250)
	}
	if setup.Messages == 0 {
		setup.Messages = setup.Rate * s.Scale(30, 20)
	}
	if setup.Batch == 0 {
		setup.Batch = 10
	}
	if setup.Partitions == 0 {
		setup.Partitions = 3
	}
	if setup.Payload == nil {
		setup.Payload = DefaultPayload
	}
	if setup.Record == nil {
		setup.Record = DefaultRecord
	}
	if setup.Check == nil {
		setup.Check = DefaultCheck
	}
	sc := &Scenario{T: t, Setup: setup, Suite: s, Ledger: NewLedger(setup.Messages), started: time.Now()}
	base := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(setup.Name), "-"), "-") + "-" + uuid.NewString()[:8]
	sc.Topic, sc.DLQ = "rel."+base, "rel."+base+".dlq"
	sc.Stream = "rel_" + strings.ReplaceAll(base, "-", "_")
	if setup.Direction == StreamseaToKafka {
		sc.Group, sc.Pipeline = uuid.NewString(), "s2k"
	} else {
		sc.Group, sc.Pipeline = "rel-"+base, "k2s"
	}
	if setup.Poison != nil {
		for i := range sc.Ledger.Poison {
			sc.Ledger.Poison[i] = setup.Poison(i)
		}
	}

	sc.Emulator, sc.Kafka = setup.Emulator, setup.Kafka
	if sc.Emulator == nil {
		sc.Emulator = StartEmulator(t, setup.EmulatorArgs...)
	}
	switch {
	case sc.Kafka != nil:
	case setup.RealKafka:
		sc.Kafka = s.RealKafka(t)
	default:
		sc.Kafka = KFake(t)
	}
	sc.proxies0[0] = sc.Emulator.Proxy.Stats()
	if sc.Kafka.Proxy != nil {
		sc.proxies0[1] = sc.Kafka.Proxy.Stats()
	}
	sc.Kafka.CreateTopic(t, sc.Topic, setup.Partitions, setup.TopicConfigs)
	sc.Kafka.CreateTopic(t, sc.DLQ, 1, nil)

	recClient := sc.Kafka.Client(t, kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(64<<20),
		kgo.FetchMaxPartitionBytes(64<<20), kgo.ConsumeTopics(sc.recordedTopics()...))
	sc.kafkaRec = startKafkaRecorder(recClient, sc.Ledger, sc.sinkTopic(), sc.DLQ, setup.Check)
	t.Cleanup(sc.kafkaRec.stop)
	if setup.Direction == KafkaToStreamsea {
		sc.streamRec = startStreamseaRecorder("ws://"+sc.Emulator.Addr, proctest.EmulatorClientID,
			proctest.EmulatorClientSecret, sc.Stream, sc.Ledger, setup.Check)
		t.Cleanup(sc.streamRec.stop)
		if err := sc.streamRec.waitSubscribed(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		pubClient := sc.Kafka.Client(t, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(2*time.Millisecond),
			kgo.ProducerBatchMaxBytes(32<<20), kgo.MaxBufferedRecords(100000))
		sc.Publisher = newPublisher(sc.Ledger, setup.Rate, setup.Batch, kafkaSender(pubClient, sc.Topic, setup.Record))
	} else {
		sc.Publisher = newPublisher(sc.Ledger, setup.Rate, setup.Batch,
			streamseaSender(sc.Emulator.URL, sc.Stream, proctest.EmulatorClientID, proctest.EmulatorClientSecret, setup.Payload))
	}
	t.Cleanup(sc.Publisher.Stop)
	t.Cleanup(func() {
		if !sc.finished {
			s.add(Result{Scenario: sc.Name, Direction: sc.Direction, Kafka: sc.Kafka.Kind, Took: time.Since(sc.started),
				Failures: []string{"harness: the scenario stopped before its end (see its test log)"}})
		}
	})
	return sc
}

func (sc *Scenario) sinkTopic() string {
	if sc.Direction == StreamseaToKafka {
		return sc.Topic
	}
	return ""
}

func (sc *Scenario) recordedTopics() []string {
	if sc.Direction == StreamseaToKafka {
		return []string{sc.Topic, sc.DLQ}
	}
	return []string{sc.DLQ}
}

// Config is the scenario's bridge config: its connections and its pipeline (PipelineConfig),
// every other key at its default. Change it with Set before StartBridge.
func (sc *Scenario) Config() *Config {
	c := &Config{}
	c.Set("streamsea.default.url", sc.Emulator.BridgeURL())
	c.Set("streamsea.default.client_id", proctest.EmulatorClientID)
	c.Set("streamsea.default.client_secret", proctest.EmulatorClientSecret)
	c.Set("kafka.default.brokers", sc.Kafka.BridgeBrokers)
	c.Set("pipelines", []map[string]any{sc.PipelineConfig()})
	return c
}

// PipelineConfig is the table of the pipeline that moves the scenario's messages.
func (sc *Scenario) PipelineConfig() map[string]any {
	p := map[string]any{"name": sc.Pipeline}
	if sc.Direction == StreamseaToKafka {
		p["source"] = map[string]any{"type": "streamsea", "streams": []string{sc.Stream}, "group_id": sc.Group}
		p["sink"] = map[string]any{"type": "kafka", "topic": sc.Topic}
	} else {
		p["source"] = map[string]any{"type": "kafka", "topics": []string{sc.Topic}, "group_id": sc.Group,
			"session_timeout": "6s", "heartbeat_interval": "1s"}
		p["sink"] = map[string]any{"type": "streamsea", "stream": sc.Stream, "schema": map[string]any{
			"name": sc.Stream, "version": 1, "fields": []map[string]any{
				{"name": "seq", "type": "integer"}, {"name": "pad", "type": "string"}}}}
	}
	p["dead_letter"] = map[string]any{"topic": sc.DLQ}
	return p
}

// Adopt makes a bridge started by another scenario (sharing its servers) part of this one:
// its counters for this scenario's pipeline count here too.
func (sc *Scenario) Adopt(b *Bridge) { sc.bridges = append(sc.bridges, b) }

// StartBridge starts a bridge instance on cfg and waits until it is ready. A bridge that
// exits or is not ready in time is a failure of the verdict; the scenario goes on, so that
// its row shows what became of its messages.
func (sc *Scenario) StartBridge(cfg *Config) *Bridge {
	sc.T.Helper()
	b := StartBridge(sc.T, fmt.Sprintf("bridge-%d", len(sc.bridges)+1), cfg)
	sc.bridges = append(sc.bridges, b)
	if err := b.waitReady(90 * time.Second); err != nil {
		if b.Proc().Exited() {
			b.markStopped() // its exit is reported here, once
		}
		sc.failures = append(sc.failures, err.Error())
	}
	return b
}

// Publish starts the publisher in the background.
func (sc *Scenario) Publish() { sc.Publisher.start() }

// WaitSent waits until n messages were accepted by the source server.
func (sc *Scenario) WaitSent(n int) {
	sc.T.Helper()
	limit := time.Duration(n/max(sc.Rate, 1))*4*time.Second + 60*time.Second
	deadline := time.Now().Add(limit)
	for sc.Publisher.Sent() < n {
		if time.Now().After(deadline) {
			fails, last := sc.Publisher.Failures()
			sc.T.Fatalf("reliability: only %d of %d messages sent after %v (%d failed attempts, last: %s)",
				sc.Publisher.Sent(), n, limit, fails, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitArrived waits until n distinct messages have arrived at the far side, for at most limit;
// it reports whether they did.
func (sc *Scenario) WaitArrived(n int, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for {
		if arrived, _ := sc.Ledger.Progress(); arrived >= n {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// heal is the end of a fault, when the recovery time starts.
type heal struct {
	at   time.Time
	what string
}

// Hold runs a fault for d: it logs what it does, calls start, waits d, calls end and marks
// the heal for the recovery time.
func (sc *Scenario) Hold(what string, d time.Duration, start, end func()) {
	sc.T.Helper()
	sc.T.Logf("fault: %s (held %v; sent so far %d)", what, d, sc.Publisher.Sent())
	start()
	time.Sleep(d)
	end()
	sc.HealedFrom(what)
}

// Healed marks now as the end of a fault: the recovery time is measured from here.
func (sc *Scenario) Healed() { sc.HealedFrom("") }

// HealedFrom is Healed naming the fault, for the notes.
func (sc *Scenario) HealedFrom(what string) { sc.heals = append(sc.heals, heal{time.Now(), what}) }

// Expect adds a failure to the verdict unless ok.
func (sc *Scenario) Expect(ok bool, format string, args ...any) {
	if !ok {
		sc.failures = append(sc.failures, fmt.Sprintf(format, args...))
	}
}

// Note adds a line to the scenario's notes under the table.
func (sc *Scenario) Note(format string, args ...any) {
	sc.notes = append(sc.notes, fmt.Sprintf(format, args...))
}

// Bridges are the scenario's bridge instances, in start order.
func (sc *Scenario) Bridges() []*Bridge { return sc.bridges }

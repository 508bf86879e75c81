package bridge_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/seabridge/seabridge/internal/bridge"
	"github.com/seabridge/seabridge/internal/config"
	"github.com/seabridge/seabridge/internal/streamsea"
	"github.com/seabridge/seabridge/internal/streamsea/emulator"
	"github.com/seabridge/seabridge/internal/testkit/emulatortest"
)

// Bounds of the waits of these tests. Group joins with kafka-go's default timings take
// seconds, and on Apache Kafka longer.
const (
	flowTimeout = 45 * time.Second // for a whole batch of messages to cross the bridge
	stopTimeout = 30 * time.Second // for App.Run to return after its context is cancelled
	pollEvery   = 20 * time.Millisecond
)

// world is one test's servers: a Kafka (kfake or real) and a stream-sea emulator, plus a REST
// client to drive the emulator.
type world struct {
	t       *testing.T
	brokers []string
	emu     *emulatortest.Env
	rest    *streamsea.Client
	logs    *testLog
}

func newWorld(t *testing.T, brokers []string) *world {
	t.Helper()
	emu := emulatortest.Start(t, emulator.Options{})
	return newWorldWith(t, brokers, emu)
}

func newWorldWith(t *testing.T, brokers []string, emu *emulatortest.Env) *world {
	t.Helper()
	w := &world{t: t, brokers: brokers, emu: emu, logs: newTestLog(t)}
	if emu != nil {
		w.rest = newRESTClient(t, emu.URL, emu.ClientSecret)
	}
	return w
}

func newRESTClient(t *testing.T, url, secret string) *streamsea.Client {
	t.Helper()
	c, err := streamsea.NewClient(streamsea.ClientOptions{BaseURL: url, ClientID: emulatortest.ClientID, ClientSecret: secret})
	if err != nil {
		t.Fatalf("REST client: %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// settings are the process-wide parts of a config that tests vary.
type settings struct {
	instance     string
	streamseaURL string // default: the world's emulator
	secret       string // default: the emulator's client secret
	httpListen   string // default: "" (no HTTP server)
	shutdown     string // default: "10s"
}

// config renders a whole bridge config: the [bridge], [http], connection tables and pipes.
func (w *world) config(s settings, pipes ...pipe) string {
	if s.instance == "" {
		s.instance = "bridge-a"
	}
	if s.streamseaURL == "" {
		s.streamseaURL = w.emu.URL
	}
	if s.secret == "" {
		s.secret = emulatortest.ClientSecret
	}
	if s.shutdown == "" {
		s.shutdown = "10s"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `[bridge]
instance_id = %q
shutdown_timeout = %q

[http]
listen = %q

[streamsea.default]
url = %q
client_id = %q
client_secret = %q
reconnect_initial = "50ms"
reconnect_max = "500ms"
request_timeout = "5s"

[kafka.default]
brokers = [%s]
dial_timeout = "5s"
`, s.instance, s.shutdown, s.httpListen, s.streamseaURL, emulatortest.ClientID, s.secret, quoteList(w.brokers))
	for _, p := range pipes {
		b.WriteString(p.toml())
	}
	return b.String()
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// pipe is one [[pipelines]] entry. Source and sink are Kafka or stream-sea according to
// toKafka; the *Lines fields are extra TOML lines of the tables they name.
type pipe struct {
	name    string
	toKafka bool   // stream-sea -> Kafka; else Kafka -> stream-sea
	stream  string // the source stream or the sink stream
	topic   string // the sink topic or the source topic
	group   string // a UUID for a stream-sea source, a consumer group for a Kafka source

	sourceLines, sinkLines, mappingLines []string
	// deadLetter is the policy; "dlq" needs dlqTopic. Default "stop".
	deadLetter, dlqTopic string
	// extraTables are further sub-tables of the pipeline, each with its header line.
	extraTables []string
	// retryInitial and retryMax replace the quick default retry backoff (50ms..500ms).
	retryInitial, retryMax string
}

func (p pipe) toml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n[[pipelines]]\nname = %q\n\n[pipelines.source]\n", p.name)
	if p.toKafka {
		fmt.Fprintf(&b, "type = \"streamsea\"\nstreams = [%q]\ngroup_id = %q\n", p.stream, p.group)
	} else {
		fmt.Fprintf(&b, "type = \"kafka\"\ntopics = [%q]\ngroup_id = %q\ncommit_interval = \"100ms\"\nmax_wait = \"100ms\"\n", p.topic, p.group)
	}
	writeLines(&b, p.sourceLines)
	b.WriteString("\n[pipelines.sink]\n")
	if p.toKafka {
		fmt.Fprintf(&b, "type = \"kafka\"\ntopic = %q\nbatch_timeout = \"1ms\"\n", p.topic)
	} else {
		fmt.Fprintf(&b, "type = \"streamsea\"\nstream = %q\n", p.stream)
	}
	writeLines(&b, p.sinkLines)
	if len(p.mappingLines) > 0 {
		b.WriteString("\n[pipelines.mapping]\n")
		writeLines(&b, p.mappingLines)
	}
	initial, maxDelay := p.retryInitial, p.retryMax
	if initial == "" {
		initial, maxDelay = "50ms", "500ms"
	}
	fmt.Fprintf(&b, "\n[pipelines.retry]\ninitial = %q\nmax = %q\n", initial, maxDelay)
	policy := p.deadLetter
	if policy == "" {
		policy = config.PolicyStop
	}
	fmt.Fprintf(&b, "\n[pipelines.dead_letter]\npolicy = %q\n", policy)
	if p.dlqTopic != "" {
		fmt.Fprintf(&b, "topic = %q\n", p.dlqTopic)
	}
	for _, table := range p.extraTables {
		b.WriteString("\n" + table + "\n")
	}
	return b.String()
}

func writeLines(b *strings.Builder, lines []string) {
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
}

// recordSchemaLine is a sink schema line for stream matching record: every field required.
func recordSchemaLine(stream string) string {
	return fmt.Sprintf(`schema = { name = %q, version = 1, fields = [{ name = "id", type = "string" }, { name = "key", type = "string" }, { name = "seq", type = "integer" }] }`, stream)
}

func newGroupUUID() string { return uuid.NewString() }

// runningApp is an App whose Run runs in a goroutine.
type runningApp struct {
	*bridge.App
	name   string
	cancel context.CancelFunc
	done   chan struct{}
	err    error // Run's result, valid once done is closed
}

// start builds an App from the TOML text and runs it until the test ends (or stop).
func (w *world) start(name, toml string) *runningApp {
	w.t.Helper()
	app := w.build(name, toml)
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningApp{App: app, name: name, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = app.Run(ctx)
	}()
	w.t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(stopTimeout):
			w.t.Errorf("app %s: Run did not return within %v of the end of the test", name, stopTimeout)
		}
	})
	return r
}

func (w *world) build(name, toml string) *bridge.App {
	w.t.Helper()
	cfg, err := config.LoadBytes([]byte(toml), nil)
	if err != nil {
		w.t.Fatalf("app %s: config: %v\n%s", name, err, toml)
	}
	app, err := bridge.New(cfg, "test", w.logs.logger(name))
	if err != nil {
		w.t.Fatalf("app %s: New: %v", name, err)
	}
	return app
}

// stop cancels Run's context and returns Run's result; the test fails if Run does not return
// within stopTimeout.
func (r *runningApp) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	return r.wait(t, stopTimeout, "after cancel")
}

// wait returns Run's result once it returns by itself; the test fails after timeout.
func (r *runningApp) wait(t *testing.T, timeout time.Duration, what string) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(timeout):
		t.Fatalf("app %s: Run did not return within %v %s; stats %+v", r.name, timeout, what, r.Stats())
		return nil
	}
}

// awaitReady waits until every pipeline of the App is connected on both sides.
func (r *runningApp) awaitReady(t *testing.T, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, "app "+r.name+" ready", func() (bool, string) {
		select {
		case <-r.done:
			t.Fatalf("app %s: Run returned before it was ready: %v", r.name, r.err)
		default:
		}
		for _, s := range r.Stats() {
			if !s.Ready {
				return false, fmt.Sprintf("%s not ready: %+v", s.Name, s.Stats)
			}
		}
		return true, ""
	})
}

// pipelineStats returns the stats of the named pipeline.
func (r *runningApp) pipelineStats(t *testing.T, name string) bridge.PipelineStats {
	t.Helper()
	for _, s := range r.Stats() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("app %s has no pipeline %q", r.name, name)
	return bridge.PipelineStats{}
}

// eventually polls cond until it holds; after timeout it fails the test with what and cond's
// last explanation.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %s", what, timeout, why)
		}
		<-tick.C
	}
}

// metricValue returns the value of the counter or gauge family name for pipeline in reg, 0
// when the series does not exist.
func metricValue(t *testing.T, reg prometheus.Gatherer, name, pipeline string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "pipeline" && l.GetValue() == pipeline {
					if c := m.GetCounter(); c != nil {
						return c.GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return 0
}

// testLog keeps the logs of the Apps of one test and prints them only when the test fails.
type testLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

const testLogLimit = 4 << 20

func newTestLog(t *testing.T) *testLog {
	l := &testLog{}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		out := l.buf.Bytes()
		if len(out) > 256<<10 {
			out = out[len(out)-256<<10:]
		}
		t.Logf("bridge logs (tail):\n%s", out)
	})
	return l
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() < testLogLimit {
		l.buf.Write(p)
	}
	return len(p), nil
}

func (l *testLog) logger(app string) *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelInfo})).With("app", app)
}

package prometheus

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.yaml.in/yaml/v4"

	"github.com/seabridge/seabridge/internal/streamsea"
	"github.com/seabridge/seabridge/internal/testkit/deploycheck"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
	"github.com/seabridge/seabridge/internal/testkit/proctest"
)

// The pipelines of the live test carry the names of deploy/kubernetes/base/bridge.toml, so
// that the KEDA query of deploy/kubernetes/keda is evaluated as written.
const (
	toKafka     = "boiler-readings-to-kafka"
	toStreamsea = "port-calls-to-streamsea"
	kafkaGroup  = "seabridge-port-calls"
	job         = "seabridge"

	readings    = 300 // published to stream-sea
	badReadings = 4   // of them without boilerId: the mapping's key fails, dead-lettered
	calls       = 300 // produced to Kafka
	badCalls    = 5   // of them without the schema's field "port": dead-lettered
	laggedCalls = 40  // produced while stream-sea is stopped: the lag

	procTimeout = 60 * time.Second
)

func liveConfig(httpAddr, streamseaURL, broker string) string {
	return fmt.Sprintf(`[bridge]
shutdown_timeout = "10s"
log_format = "json"

[http]
listen = %q

[streamsea.default]
url = %q
client_id = %q
client_secret = %q
reconnect_initial = "50ms"
reconnect_max = "500ms"
request_timeout = "2s"

[kafka.default]
brokers = [%q]

[[pipelines]]
name = %q
[pipelines.source]
type = "streamsea"
streams = ["boiler_readings"]
group_id = "0b7c4f52-6a1e-4d8f-9c3b-2e5a7d9f1c04"
[pipelines.mapping]
key = "/boilerId"
[pipelines.sink]
type = "kafka"
topic = "boiler-readings"
[pipelines.batch]
size = 50
[pipelines.retry]
initial = "50ms"
max = "500ms"
[pipelines.dead_letter]
topic = "seabridge-dlq"

[[pipelines]]
name = %q
[pipelines.source]
type = "kafka"
topics = ["port-calls"]
group_id = %q
commit_interval = "100ms"
max_wait = "100ms"
lag_interval = "1s"
[pipelines.sink]
type = "streamsea"
stream = "port_calls"
[pipelines.sink.schema]
name = "port_calls"
version = 1
fields = [
  { name = "portCallKey", type = "string" },
  { name = "port", type = "string" },
]
[pipelines.batch]
size = 50
[pipelines.retry]
initial = "50ms"
max = "500ms"
[pipelines.dead_letter]
topic = "seabridge-dlq"
`, httpAddr, streamseaURL, proctest.EmulatorClientID, proctest.EmulatorClientSecret, broker,
		toKafka, toStreamsea, kafkaGroup)
}

// promConfig scrapes the bridge every second as job "seabridge" and evaluates the shipped
// alerts every second.
func promConfig(t *testing.T, target string) string {
	return fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - %q
scrape_configs:
  - job_name: %s
    static_configs:
      - targets: [%q]
`, deploycheck.RepoPath(t, deploycheck.AlertsPath), job, target)
}

// TestLivePrometheus runs the bridge binary with one pipeline each way (kfake and the
// emulator as a process), a real Prometheus scraping it every second with the shipped alerts
// loaded, sends a few hundred messages each way (some of them poison), and evaluates every
// query of the dashboard, the alerts and the KEDA ScaledObject through Prometheus's HTTP API.
// Every query must parse and evaluate; the throughput and dead-letter panels must give back
// exactly the counts that flowed, the lag panel and the KEDA query the records produced while
// stream-sea was stopped.
func TestLivePrometheus(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	for _, topic := range []string{"boiler-readings", "seabridge-dlq"} {
		kafkatest.CreateTopic(t, brokers, topic, 1)
	}
	kafkatest.CreateTopic(t, brokers, "port-calls", 3)
	emu := proctest.StartEmulator(t)
	addr := proctest.FreeAddr(t)
	bridge := proctest.Start(t, proctest.Options{Args: []string{"run", "--config",
		proctest.WriteFile(t, "bridge.toml", liveConfig(addr, emu.URL, brokers[0]))}})
	proctest.WaitHTTP(t, "http://"+addr+"/readyz", procTimeout)
	prom := startPrometheus(t, promConfig(t, addr))

	// Every counter the checks below read must have a sample at 0 before anything flows, so
	// that increases over the whole run are exact.
	prom.waitQuery(t, "the first scrape", `seabridge_pipeline_messages_in_total{job="seabridge"}`, procTimeout,
		func(v []sample) bool { return len(v) == 2 && v[0].Value == 0 && v[1].Value == 0 })
	started := time.Now()

	publishReadings(t, emu.URL)
	produceCalls(t, brokers, calls, badCalls)
	flowed := map[string]map[string]float64{ // metric -> pipeline -> count
		"seabridge_pipeline_messages_in_total":            {toKafka: readings, toStreamsea: calls},
		"seabridge_pipeline_messages_out_total":           {toKafka: readings - badReadings, toStreamsea: calls - badCalls},
		"seabridge_pipeline_messages_dead_lettered_total": {toKafka: badReadings, toStreamsea: badCalls},
		"seabridge_kafka_produced_messages_total":         {toKafka: readings - badReadings},
		"seabridge_kafka_dead_lettered_messages_total":    {toKafka: badReadings, toStreamsea: badCalls},
		"seabridge_streamsea_published_messages_total":    {toStreamsea: calls - badCalls},
		"seabridge_streamsea_received_messages_total":     {toKafka: readings},
		"seabridge_kafka_fetched_messages_total":          {toStreamsea: calls},
		"seabridge_streamsea_validation_failures_total":   {toStreamsea: badCalls},
	}
	waitBridge(t, addr, "everything to cross", func(m proctest.Metrics) bool {
		for metric, want := range flowed {
			for p, n := range want {
				if m.Sum(metric, `pipeline="`+p+`"`) != n {
					return false
				}
			}
		}
		return true
	})
	// Prometheus must have scraped the final counts: the increases are then over the whole run.
	prom.waitQuery(t, "a scrape of the final counts",
		`sum(seabridge_pipeline_messages_out_total{job="seabridge"})`, procTimeout,
		func(v []sample) bool {
			return len(v) == 1 && v[0].Value == readings-badReadings+calls-badCalls
		})

	// At the timestamp of the last scrape a rate over a window reaching back before the first
	// sample is the exact increase divided by the window: the counters start at 0 (no
	// extrapolation to the window's start) and the last sample is at its end.
	window := time.Since(started).Round(time.Second) + 2*time.Minute
	at := lastScrape(t, prom)
	vars := map[string]string{"job": job, "instance": ".*", "pipeline": ".*", "datasource": "",
		"__rate_interval": fmt.Sprintf("%ds", int(window.Seconds())), "__interval": "1s", "__range": fmt.Sprintf("%ds", int(window.Seconds()))}
	checked := checkDashboardCounters(t, prom, at, window, vars, flowed)
	for _, want := range []string{"seabridge_pipeline_messages_in_total", "seabridge_pipeline_messages_out_total", "seabridge_pipeline_messages_dead_lettered_total"} {
		if !checked[want] {
			t.Errorf("no dashboard panel shows the rate of %s by pipeline: the throughput and dead-letter panels were not checked", want)
		}
	}
	checkEveryDashboardQuery(t, prom, at, vars)
	checkAlertRules(t, prom)
	checkFiring(t, prom, "SeabridgeDeadLettered", toKafka, toStreamsea)

	// Consumer lag: stream-sea stops answering, records pile up in the topic uncommitted.
	emu.Signal(syscall.SIGSTOP)
	t.Cleanup(func() { emu.Signal(syscall.SIGCONT) })
	produceCalls(t, brokers, laggedCalls, 0)
	lagQuery := dashboardQuery(t, "seabridge_kafka_consumer_lag")
	lag := deploycheck.ExpandVariables(t, lagQuery.Expr, vars)
	v := prom.waitQuery(t, "the lag panel to show the records produced while stream-sea is stopped", lag, procTimeout,
		func(v []sample) bool { return byLabel(v, "pipeline")[toStreamsea] == laggedCalls })
	if len(v) != 3 {
		t.Errorf("%s: %d series, want one per partition of port-calls (3)", lagQuery.Where, len(v))
	}
	groupQuery := dashboardQuery(t, "seabridge_kafka_consumergroup_lag_sum")
	if got := byLabel(prom.mustQuery(t, deploycheck.ExpandVariables(t, groupQuery.Expr, vars), 0), "consumergroup"); got[kafkaGroup] != laggedCalls {
		t.Errorf("%s: %v, want %s: %d", groupQuery.Where, got, kafkaGroup, laggedCalls)
	}
	keda := kedaQuery(t)
	if got := prom.mustQuery(t, keda, 0); len(got) != 1 || got[0].Value != laggedCalls {
		t.Errorf("the KEDA query %s = %v, want %d", keda, got, laggedCalls)
	}
	emu.Signal(syscall.SIGCONT)

	bridge.Signal(syscall.SIGTERM)
	if code := bridge.Wait(procTimeout); code != 0 {
		t.Errorf("bridge exited %d after SIGTERM, want 0", code)
	}
	checkJSONDurations(t, bridge.Stderr())
}

func publishReadings(t *testing.T, base string) {
	t.Helper()
	c, err := streamsea.NewClient(streamsea.ClientOptions{BaseURL: base, ClientID: proctest.EmulatorClientID,
		ClientSecret: proctest.EmulatorClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	const batch = 50
	for i := 0; i < readings; i += batch {
		payloads := make([][]byte, batch)
		for j := range payloads {
			n := i + j
			if n%(readings/badReadings) == 0 {
				payloads[j] = fmt.Appendf(nil, `{"reading":%d}`, n)
			} else {
				payloads[j] = fmt.Appendf(nil, `{"boilerId":"b-%d","reading":%d}`, n%7, n)
			}
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		err := c.PublishBatch(ctx, "boiler_readings", payloads)
		cancel()
		if err != nil {
			t.Fatalf("publish to stream-sea: %v", err)
		}
	}
}

// produceCalls produces n records to port-calls, bad of them without the schema's "port".
func produceCalls(t *testing.T, brokers []string, n, bad int) {
	t.Helper()
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		key := fmt.Appendf(nil, "call-%d", i)
		msgs[i] = kafka.Message{Key: key, Value: fmt.Appendf(nil, `{"portCallKey":"%s","port":"NLRTM"}`, key)}
		if bad > 0 && i%(n/bad) == 0 {
			msgs[i].Value = fmt.Appendf(nil, `{"portCallKey":"%s"}`, key)
		}
	}
	kafkatest.Produce(t, brokers, "port-calls", msgs...)
}

// waitBridge polls the bridge's own /metrics until cond holds.
func waitBridge(t *testing.T, addr, what string, cond func(proctest.Metrics) bool) {
	t.Helper()
	deadline := time.Now().Add(procTimeout)
	for {
		m := proctest.MustScrape(t, "http://"+addr+"/metrics")
		if cond(m) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting %v for %s", procTimeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// lastScrape is the timestamp of the latest scrape of the bridge.
func lastScrape(t *testing.T, prom *promServer) float64 {
	t.Helper()
	v := prom.mustQuery(t, `timestamp(seabridge_build_info{job="seabridge"})`, 0)
	if len(v) != 1 {
		t.Fatalf("timestamp(seabridge_build_info): %v", v)
	}
	return v[0].Value
}

// counterRate matches a dashboard query of the per-pipeline rate of one counter.
var counterRate = regexp.MustCompile(`^sum by \(pipeline\) \(rate\(([a-z_]+_total)\{[^}]*\}\[\$__rate_interval\]\)\)$`)

// checkDashboardCounters evaluates every dashboard query of a per-pipeline counter rate at
// the last scrape over the whole run: rate times window must be the counter's value in that
// scrape, and, for the counters of flowed, what the test sent. It returns the counters it
// checked.
func checkDashboardCounters(t *testing.T, prom *promServer, at float64, window time.Duration, vars map[string]string,
	flowed map[string]map[string]float64) map[string]bool {
	t.Helper()
	checked := map[string]bool{}
	for _, q := range deploycheck.LoadDashboard(t).Queries() {
		m := counterRate.FindStringSubmatch(q.Expr)
		if m == nil {
			continue
		}
		metric := m[1]
		checked[metric] = true
		got := byLabel(prom.mustQuery(t, deploycheck.ExpandVariables(t, q.Expr, vars), at), "pipeline")
		scraped := byLabel(prom.mustQuery(t, metric+`{job="seabridge"}`, at), "pipeline")
		for _, p := range []string{toKafka, toStreamsea} {
			counted := scraped[p]
			increase := got[p] * window.Seconds()
			if math.Abs(increase-counted) > 1e-6*math.Max(1, counted) {
				t.Errorf("%s: pipeline %s: rate × window = %v, the bridge counted %v", q.Where, p, increase, counted)
			}
			if want, ok := flowed[metric][p]; ok && counted != want {
				t.Errorf("%s: pipeline %s: %v, want %v", metric, p, counted, want)
			}
		}
	}
	return checked
}

// checkEveryDashboardQuery evaluates every query of the dashboard and of its variables: each
// must parse and evaluate, and each must return something: a panel that shows nothing for a
// bridge that moved messages both ways names a series the bridge does not export.
func checkEveryDashboardQuery(t *testing.T, prom *promServer, at float64, vars map[string]string) {
	t.Helper()
	d := deploycheck.LoadDashboard(t)
	n := 0
	for _, q := range d.Queries() {
		n++
		expr := deploycheck.ExpandVariables(t, q.Expr, vars)
		v, err := prom.query(t.Context(), expr, at)
		switch {
		case err != nil:
			t.Errorf("%s: %s: %v", q.Where, expr, err)
		case len(v) == 0:
			t.Errorf("%s: %s returns nothing", q.Where, expr)
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		n++
		m := regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`).FindStringSubmatch(v.QueryString())
		if m == nil {
			t.Errorf("variable %s: %s is not label_values(selector, label)", v.Name, v.QueryString())
			continue
		}
		sel := deploycheck.ExpandVariables(t, m[1], vars)
		data, err := prom.get(t.Context(), "/api/v1/label/"+m[2]+"/values", url.Values{"match[]": {sel}})
		var values []string
		if err == nil {
			err = json.Unmarshal(data, &values)
		}
		if err != nil || len(values) == 0 {
			t.Errorf("variable %s: label values of %s for %s: %v %v", v.Name, m[2], sel, values, err)
		}
	}
	t.Logf("%d dashboard queries evaluated", n)
}

// checkAlertRules: Prometheus loaded every rule of alerts.yml and has evaluated each without
// error; each alert's expression also evaluates as a query.
func checkAlertRules(t *testing.T, prom *promServer) {
	t.Helper()
	want := map[string]string{}
	for _, r := range deploycheck.LoadRules(t, deploycheck.AlertsPath).Rules() {
		want[r.Name()] = r.Expr
	}
	type rule struct {
		Name           string `json:"name"`
		Health         string `json:"health"`
		LastError      string `json:"lastError"`
		LastEvaluation string `json:"lastEvaluation"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		data, err := prom.get(t.Context(), "/api/v1/rules", nil)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Groups []struct {
				Rules []rule `json:"rules"`
			} `json:"groups"`
		}
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatal(err)
		}
		var pending []string
		seen := map[string]bool{}
		for _, g := range d.Groups {
			for _, r := range g.Rules {
				seen[r.Name] = true
				switch {
				case r.Health == "err":
					t.Errorf("rule %s: evaluation error: %s", r.Name, r.LastError)
				case r.Health != "ok" || strings.HasPrefix(r.LastEvaluation, "0001-"):
					pending = append(pending, r.Name)
				}
			}
		}
		for name := range want {
			if !seen[name] {
				t.Errorf("Prometheus did not load the rule %s of %s", name, deploycheck.AlertsPath)
			}
		}
		if len(pending) == 0 || t.Failed() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rules not evaluated within 30s: %v", pending)
		}
		time.Sleep(250 * time.Millisecond)
	}
	for name, expr := range want {
		if _, err := prom.query(t.Context(), expr, 0); err != nil {
			t.Errorf("alert %s: %s: %v", name, expr, err)
		}
	}
}

// checkFiring waits until the alert fires for each pipeline.
func checkFiring(t *testing.T, prom *promServer, alert string, pipelines ...string) {
	t.Helper()
	prom.waitQuery(t, alert+" firing", `ALERTS{alertname="`+alert+`", alertstate="firing"}`, 30*time.Second,
		func(v []sample) bool {
			got := byLabel(v, "pipeline")
			for _, p := range pipelines {
				if got[p] != 1 {
					return false
				}
			}
			return true
		})
}

// dashboardQuery is the one dashboard query that selects metric.
func dashboardQuery(t *testing.T, metric string) deploycheck.Query {
	t.Helper()
	var found []deploycheck.Query
	for _, q := range deploycheck.LoadDashboard(t).Queries() {
		for _, s := range deploycheck.Selectors(q.Expr) {
			if s.Metric == metric {
				found = append(found, q)
				break
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one dashboard query of %s, found %d", metric, len(found))
	}
	return found[0]
}

// kedaQuery is the query of the ScaledObject's prometheus trigger.
func kedaQuery(t *testing.T) string {
	t.Helper()
	var so struct {
		Spec struct {
			Triggers []struct {
				Type     string            `yaml:"type"`
				Metadata map[string]string `yaml:"metadata"`
			} `yaml:"triggers"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(deploycheck.ReadFile(t, "deploy/kubernetes/keda/scaledobject.yaml"), &so); err != nil {
		t.Fatal(err)
	}
	for _, tr := range so.Spec.Triggers {
		if tr.Type == "prometheus" {
			return tr.Metadata["query"]
		}
	}
	t.Fatal("the ScaledObject has no prometheus trigger")
	return ""
}

// checkJSONDurations: the JSON log's "bridge stopped" line writes its duration as a string.
func checkJSONDurations(t *testing.T, stderr string) {
	t.Helper()
	for _, line := range strings.Split(stderr, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != "bridge stopped" {
			continue
		}
		after, ok := rec["after"].(string)
		if _, err := time.ParseDuration(after); !ok || err != nil {
			t.Errorf("bridge stopped: after %v (%T), want a Go duration string", rec["after"], rec["after"])
		}
		return
	}
	t.Errorf("no JSON \"bridge stopped\" line:\n%s", stderr)
}

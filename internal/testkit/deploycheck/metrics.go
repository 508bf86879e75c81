package deploycheck

import (
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seabridge/seabridge/internal/bridge"
	"github.com/seabridge/seabridge/internal/config"
)

// minimalConfig has one pipeline each way, both with a dead-letter topic, and no HTTP server:
// bridge.New then registers every metric family the bridge has, and binds and dials nothing.
const minimalConfig = `
[bridge]
instance_id = "deploy-test"
[http]
listen = ""
[streamsea.default]
client_id = "bridge"
client_secret = "secret"

[[pipelines]]
name = "to-kafka"
[pipelines.source]
type = "streamsea"
streams = ["readings"]
[pipelines.sink]
type = "kafka"
topic = "readings"
[pipelines.dead_letter]
topic = "dlq"

[[pipelines]]
name = "to-streamsea"
[pipelines.source]
type = "kafka"
topics = ["calls"]
group_id = "calls"
[pipelines.sink]
type = "streamsea"
stream = "calls"
[pipelines.dead_letter]
topic = "dlq"
`

// Registered is what the bridge's registry holds: every metric name it describes, and the
// type of each family that already has a sample ("counter", "gauge", "histogram", ...).
type Registered struct {
	Names map[string]bool
	Types map[string]string
}

var descName = regexp.MustCompile(`fqName: "([^"]+)"`)

// RegisteredMetrics wires minimalConfig the way the bridge does and lists its registry.
// Gather reports only families with a sample, so names come from Describe.
func RegisteredMetrics(t testing.TB) Registered {
	t.Helper()
	cfg, err := config.LoadBytes([]byte(minimalConfig), nil)
	if err != nil {
		t.Fatalf("minimal config: %v", err)
	}
	app, err := bridge.New(cfg, "test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("bridge.New: %v", err)
	}
	reg := app.Registry()
	descs := make(chan *prometheus.Desc)
	go func() {
		reg.Describe(descs)
		close(descs)
	}()
	r := Registered{Names: map[string]bool{}, Types: map[string]string{}}
	for d := range descs {
		m := descName.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("cannot read the name of %s", d)
		}
		r.Names[m[1]] = true
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		r.Types[f.GetName()] = strings.ToLower(f.GetType().String())
	}
	if len(r.Names) < 20 {
		t.Fatalf("only %d metric names described: %v", len(r.Names), slices.Sorted(maps.Keys(r.Names)))
	}
	return r
}

// DocumentedMetric is one row of a table in docs/metrics.md whose first cell is a metric name
// in backticks; a name ending in "*" stands for every name with that prefix.
type DocumentedMetric struct {
	Name string
	Type string
	Line int
}

var metricRow = regexp.MustCompile("^\\|\\s*`([a-zA-Z_:][a-zA-Z0-9_:]*\\*?)`\\s*\\|\\s*([a-z]+)\\s*\\|")

func documentedMetrics(doc string) []DocumentedMetric {
	var out []DocumentedMetric
	for i, line := range strings.Split(doc, "\n") {
		if m := metricRow.FindStringSubmatch(line); m != nil {
			out = append(out, DocumentedMetric{Name: m[1], Type: m[2], Line: i + 1})
		}
	}
	return out
}

// MetricDocs indexes the documented metrics: exact names with their type, and prefixes.
type MetricDocs struct {
	Exact    map[string]DocumentedMetric
	Prefixes []string
}

func indexMetricDocs(t testing.TB, rows []DocumentedMetric) MetricDocs {
	t.Helper()
	d := MetricDocs{Exact: map[string]DocumentedMetric{}}
	for _, r := range rows {
		if prefix, ok := strings.CutSuffix(r.Name, "*"); ok {
			if strings.HasPrefix(prefix, "seabridge_") {
				t.Errorf("docs/metrics.md:%d: %s: seabridge metrics must be listed by full name", r.Line, r.Name)
			}
			d.Prefixes = append(d.Prefixes, prefix)
			continue
		}
		if prev, dup := d.Exact[r.Name]; dup {
			t.Errorf("docs/metrics.md:%d: %s is already documented at line %d", r.Line, r.Name, prev.Line)
		}
		d.Exact[r.Name] = r
	}
	return d
}

// Covers reports whether name is documented, by name or (for other than seabridge metrics) by prefix.
func (d MetricDocs) Covers(name string) bool {
	if _, ok := d.Exact[name]; ok {
		return true
	}
	if strings.HasPrefix(name, "seabridge_") {
		return false
	}
	for _, p := range d.Prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// LoadMetricDocs reads the metric tables of docs/metrics.md.
func LoadMetricDocs(t testing.TB) MetricDocs {
	t.Helper()
	return indexMetricDocs(t, documentedMetrics(string(ReadFile(t, "docs/metrics.md"))))
}

package deploy

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

// registered is what the bridge's registry holds: every metric name it describes, and the
// type of each family that already has a sample ("counter", "gauge", "histogram", ...).
type registered struct {
	names map[string]bool
	types map[string]string
}

var descName = regexp.MustCompile(`fqName: "([^"]+)"`)

// registeredMetrics wires minimalConfig the way the bridge does and lists its registry.
// Gather reports only families with a sample, so names come from Describe.
func registeredMetrics(t *testing.T) registered {
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
	r := registered{names: map[string]bool{}, types: map[string]string{}}
	for d := range descs {
		m := descName.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("cannot read the name of %s", d)
		}
		r.names[m[1]] = true
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		r.types[f.GetName()] = strings.ToLower(f.GetType().String())
	}
	if len(r.names) < 20 {
		t.Fatalf("only %d metric names described: %v", len(r.names), slices.Sorted(maps.Keys(r.names)))
	}
	return r
}

// documentedMetric is one row of a table in docs/metrics.md whose first cell is a metric name
// in backticks; a name ending in "*" stands for every name with that prefix.
type documentedMetric struct {
	name string
	typ  string
	line int
}

var metricRow = regexp.MustCompile("^\\|\\s*`([a-zA-Z_:][a-zA-Z0-9_:]*\\*?)`\\s*\\|\\s*([a-z]+)\\s*\\|")

func documentedMetrics(t *testing.T, doc string) []documentedMetric {
	t.Helper()
	var out []documentedMetric
	for i, line := range strings.Split(doc, "\n") {
		if m := metricRow.FindStringSubmatch(line); m != nil {
			out = append(out, documentedMetric{name: m[1], typ: m[2], line: i + 1})
		}
	}
	return out
}

// metricDocs indexes the documented metrics: exact names with their type, and prefixes.
type metricDocs struct {
	exact    map[string]documentedMetric
	prefixes []string
}

func indexMetricDocs(t *testing.T, rows []documentedMetric) metricDocs {
	t.Helper()
	d := metricDocs{exact: map[string]documentedMetric{}}
	for _, r := range rows {
		if prefix, ok := strings.CutSuffix(r.name, "*"); ok {
			if strings.HasPrefix(prefix, "seabridge_") {
				t.Errorf("docs/metrics.md:%d: %s: seabridge metrics must be listed by full name", r.line, r.name)
			}
			d.prefixes = append(d.prefixes, prefix)
			continue
		}
		if prev, dup := d.exact[r.name]; dup {
			t.Errorf("docs/metrics.md:%d: %s is already documented at line %d", r.line, r.name, prev.line)
		}
		d.exact[r.name] = r
	}
	return d
}

func (d metricDocs) covers(name string) bool {
	if _, ok := d.exact[name]; ok {
		return true
	}
	if strings.HasPrefix(name, "seabridge_") {
		return false
	}
	for _, p := range d.prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func loadMetricDocs(t *testing.T) metricDocs {
	t.Helper()
	return indexMetricDocs(t, documentedMetrics(t, string(readRepoFile(t, "docs/metrics.md"))))
}

func TestEveryRegisteredMetricIsDocumented(t *testing.T) {
	reg := registeredMetrics(t)
	docs := loadMetricDocs(t)
	for _, name := range slices.Sorted(maps.Keys(reg.names)) {
		if !docs.covers(name) {
			t.Errorf("metric %s is registered by the bridge but not documented in docs/metrics.md", name)
		}
	}
}

func TestEveryDocumentedMetricExists(t *testing.T) {
	reg := registeredMetrics(t)
	docs := loadMetricDocs(t)
	for name, row := range docs.exact {
		if !reg.names[name] {
			t.Errorf("docs/metrics.md:%d: %s is documented but the bridge registers no such metric", row.line, name)
		}
	}
	for _, p := range docs.prefixes {
		found := false
		for name := range reg.names {
			found = found || strings.HasPrefix(name, p)
		}
		if !found {
			t.Errorf("docs/metrics.md: no registered metric matches %s*", p)
		}
	}
}

func TestDocumentedMetricTypes(t *testing.T) {
	reg := registeredMetrics(t)
	docs := loadMetricDocs(t)
	for name, row := range docs.exact {
		switch row.typ {
		case "counter", "gauge", "histogram", "summary":
		default:
			t.Errorf("docs/metrics.md:%d: %s: type %q is not counter, gauge, histogram or summary", row.line, name, row.typ)
			continue
		}
		if got, ok := reg.types[name]; ok && got != row.typ {
			t.Errorf("docs/metrics.md:%d: %s is documented as a %s but is a %s", row.line, name, row.typ, got)
		}
	}
}

var promqlBlock = regexp.MustCompile("(?s)```promql\n(.*?)```")

// TestDocumentedQueriesUseRealMetrics checks every PromQL example of the operator docs.
func TestDocumentedQueriesUseRealMetrics(t *testing.T) {
	reg := registeredMetrics(t)
	docs := loadMetricDocs(t)
	for _, file := range []string{"docs/metrics.md", "docs/operations.md"} {
		blocks := promqlBlock.FindAllStringSubmatch(string(readRepoFile(t, file)), -1)
		if file == "docs/metrics.md" && len(blocks) == 0 {
			t.Errorf("%s has no promql examples", file)
		}
		for _, b := range blocks {
			for _, expr := range strings.Split(b[1], "\n") {
				expr = strings.TrimSpace(expr)
				if expr == "" || strings.HasPrefix(expr, "#") {
					continue
				}
				for _, problem := range checkQuery(expr, reg, docs) {
					t.Errorf("%s: %s", file, problem)
				}
			}
		}
	}
}

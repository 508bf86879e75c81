package deploy

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/seabridge/seabridge/internal/testkit/deploycheck"
)

func TestEveryRegisteredMetricIsDocumented(t *testing.T) {
	reg := deploycheck.RegisteredMetrics(t)
	docs := deploycheck.LoadMetricDocs(t)
	for _, name := range slices.Sorted(maps.Keys(reg.Names)) {
		if !docs.Covers(name) {
			t.Errorf("metric %s is registered by the bridge but not documented in docs/metrics.md", name)
		}
	}
}

func TestEveryDocumentedMetricExists(t *testing.T) {
	reg := deploycheck.RegisteredMetrics(t)
	docs := deploycheck.LoadMetricDocs(t)
	for name, row := range docs.Exact {
		if !reg.Names[name] {
			t.Errorf("docs/metrics.md:%d: %s is documented but the bridge registers no such metric", row.Line, name)
		}
	}
	for _, p := range docs.Prefixes {
		found := false
		for name := range reg.Names {
			found = found || strings.HasPrefix(name, p)
		}
		if !found {
			t.Errorf("docs/metrics.md: no registered metric matches %s*", p)
		}
	}
}

func TestDocumentedMetricTypes(t *testing.T) {
	reg := deploycheck.RegisteredMetrics(t)
	docs := deploycheck.LoadMetricDocs(t)
	for name, row := range docs.Exact {
		switch row.Type {
		case "counter", "gauge", "histogram", "summary":
		default:
			t.Errorf("docs/metrics.md:%d: %s: type %q is not counter, gauge, histogram or summary", row.Line, name, row.Type)
			continue
		}
		if got, ok := reg.Types[name]; ok && got != row.Type {
			t.Errorf("docs/metrics.md:%d: %s is documented as a %s but is a %s", row.Line, name, row.Type, got)
		}
	}
}

var promqlBlock = regexp.MustCompile("(?s)```promql\n(.*?)```")

// docQuery is one PromQL expression of a ```promql block of the docs, with the comment line
// written above it, if any. An expression runs over consecutive lines up to a blank line or a
// comment line.
type docQuery struct {
	comment string
	expr    string
}

func docQueries(doc string) []docQuery {
	var out []docQuery
	for _, b := range promqlBlock.FindAllStringSubmatch(doc, -1) {
		var cur docQuery
		flush := func() {
			if cur.expr != "" {
				out = append(out, cur)
			}
			cur = docQuery{}
		}
		for _, line := range strings.Split(b[1], "\n") {
			line = strings.TrimSpace(line)
			switch {
			case line == "":
				flush()
			case strings.HasPrefix(line, "#"):
				flush()
				cur.comment = strings.TrimSpace(strings.TrimPrefix(line, "#"))
			default:
				cur.expr = strings.TrimSpace(cur.expr + " " + line)
			}
		}
		flush()
	}
	return out
}

// TestDocumentedQueriesUseRealMetrics checks every PromQL example of the operator docs.
func TestDocumentedQueriesUseRealMetrics(t *testing.T) {
	reg := deploycheck.RegisteredMetrics(t)
	docs := deploycheck.LoadMetricDocs(t)
	for _, file := range []string{"docs/metrics.md", "docs/operations.md"} {
		queries := docQueries(string(deploycheck.ReadFile(t, file)))
		if file == "docs/metrics.md" && len(queries) == 0 {
			t.Errorf("%s has no promql examples", file)
		}
		for _, q := range queries {
			for _, problem := range deploycheck.CheckQuery(q.expr, reg, docs) {
				t.Errorf("%s: %s", file, problem)
			}
		}
	}
}

// TestCountersStartAtZero: every counter has a series as soon as the bridge is built (nothing
// has run, so it is 0), for the pipelines it applies to: a counter that appears only at its
// first event hides that event from increase() and rate(). The deploy checks' config has no
// spool, so the spool's counters (bound when a spool opens) do not apply.
func TestCountersStartAtZero(t *testing.T) {
	reg := deploycheck.RegisteredMetrics(t)
	for _, name := range slices.Sorted(maps.Keys(reg.Names)) {
		counter := strings.HasPrefix(name, "seabridge_") && strings.HasSuffix(name, "_total")
		if _, gathered := reg.Types[name]; counter && !gathered && !strings.HasPrefix(name, "seabridge_spool_") {
			t.Errorf("counter %s has no series before its first event", name)
		}
	}
}

package deploy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	promStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promVariables = regexp.MustCompile(`\$\{[^}]*\}|\$\w+`)
	promMatchers  = regexp.MustCompile(`\{[^{}]*\}`)
	promRanges    = regexp.MustCompile(`\[[^\[\]]*\]`)
	promGrouping  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	promIdent     = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
)

// promKeywords are the identifiers of PromQL that are neither metrics nor followed by "(".
var promKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "by": true,
	"without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"inf": true, "nan": true, "Inf": true, "NaN": true,
}

// metricNames returns the metric names a PromQL expression selects, in order of appearance.
// Label matchers, ranges, grouping clauses, strings and Grafana variables are removed first;
// an identifier followed by "(" is a function or an aggregation, one right after a digit or a
// dot is part of a number or a duration.
func metricNames(expr string) []string {
	s := promStrings.ReplaceAllString(expr, `""`)
	s = promVariables.ReplaceAllString(s, "")
	s = promMatchers.ReplaceAllString(s, "")
	s = promRanges.ReplaceAllString(s, "")
	s = promGrouping.ReplaceAllString(s, "")
	var names []string
	for _, loc := range promIdent.FindAllStringIndex(s, -1) {
		word := s[loc[0]:loc[1]]
		if loc[0] > 0 && strings.ContainsRune("0123456789.", rune(s[loc[0]-1])) {
			continue
		}
		if strings.HasPrefix(strings.TrimLeft(s[loc[1]:], " \t\n"), "(") || promKeywords[word] {
			continue
		}
		names = append(names, word)
	}
	return names
}

// checkQuery lists the problems of expr: no metric at all, or a metric the bridge does not
// register. _bucket, _sum and _count are accepted on documented histograms (and the last two
// on summaries).
func checkQuery(expr string, reg registered, docs metricDocs) []string {
	names := metricNames(expr)
	if len(names) == 0 {
		return []string{fmt.Sprintf("%q selects no metric", expr)}
	}
	var problems []string
	for _, n := range names {
		if !queryableMetric(n, reg, docs) {
			problems = append(problems, fmt.Sprintf("%q uses %s, which the bridge does not export", expr, n))
		}
	}
	return problems
}

// scrapeSeries are the series Prometheus itself adds to every scraped target.
var scrapeSeries = map[string]bool{
	"up": true, "scrape_duration_seconds": true, "scrape_samples_scraped": true,
	"scrape_samples_post_metric_relabeling": true, "scrape_series_added": true,
}

func queryableMetric(name string, reg registered, docs metricDocs) bool {
	if reg.names[name] || scrapeSeries[name] {
		return true
	}
	for suffix, types := range map[string][]string{
		"_bucket": {"histogram"}, "_sum": {"histogram", "summary"}, "_count": {"histogram", "summary"},
	} {
		base, ok := strings.CutSuffix(name, suffix)
		if ok && reg.names[base] && slices.Contains(types, docs.exact[base].typ) {
			return true
		}
	}
	return false
}

func TestMetricNames(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`up`, []string{"up"}},
		{`sum by (pipeline) (rate(a_total{pipeline=~"$pipeline"}[$__rate_interval]))`, []string{"a_total"}},
		{`histogram_quantile(0.99, sum by (le, pipeline) (rate(lat_bucket[5m])))`, []string{"lat_bucket"}},
		{`sum(rate(x[5m])) without (instance) / ignoring(direction) group_left sum(y)`, []string{"x", "y"}},
		{`max_over_time(g{a="b}c"}[1h:1m]) > 1e3 and on (pipeline) h offset 5m`, []string{"g", "h"}},
		{`count(seabridge_up == bool 0) > 0 unless absent(z{job="x"})`, []string{"seabridge_up", "z"}},
		{`changes(s[${__range}]) or vector(0)`, []string{"s"}},
		{`rate(a:b:c[1m]) * 100`, []string{"a:b:c"}},
		{`vector(1)`, nil},
	}
	for _, tt := range tests {
		if got := metricNames(tt.expr); !slices.Equal(got, tt.want) {
			t.Errorf("metricNames(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

func TestCheckQuery(t *testing.T) {
	reg := registered{names: map[string]bool{"h_seconds": true, "c_total": true, "s": true}}
	docs := metricDocs{exact: map[string]documentedMetric{
		"h_seconds": {typ: "histogram"}, "c_total": {typ: "counter"}, "s": {typ: "summary"},
	}}
	tests := []struct {
		expr     string
		problems int
	}{
		{`rate(c_total[5m])`, 0},
		{`histogram_quantile(0.5, rate(h_seconds_bucket[5m]))`, 0},
		{`rate(h_seconds_sum[5m]) / rate(h_seconds_count[5m])`, 0},
		{`rate(s_count[5m])`, 0},
		{`rate(s_bucket[5m])`, 1},
		{`rate(c_total_bucket[5m])`, 1},
		{`rate(c_totl[5m])`, 1},
		{`up{job="seabridge"} == 0`, 0},
		{`vector(1)`, 1},
	}
	for _, tt := range tests {
		if got := checkQuery(tt.expr, reg, docs); len(got) != tt.problems {
			t.Errorf("checkQuery(%q) = %q, want %d problems", tt.expr, got, tt.problems)
		}
	}
}

package deploycheck

import (
	"slices"
	"testing"
)

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
		if got := MetricNames(tt.expr); !slices.Equal(got, tt.want) {
			t.Errorf("MetricNames(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

func TestCheckQuery(t *testing.T) {
	reg := Registered{Names: map[string]bool{"h_seconds": true, "c_total": true, "s": true}}
	docs := MetricDocs{Exact: map[string]DocumentedMetric{
		"h_seconds": {Type: "histogram"}, "c_total": {Type: "counter"}, "s": {Type: "summary"},
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
		if got := CheckQuery(tt.expr, reg, docs); len(got) != tt.problems {
			t.Errorf("CheckQuery(%q) = %q, want %d problems", tt.expr, got, tt.problems)
		}
	}
}

func TestSelectors(t *testing.T) {
	got := Selectors(`sum by (p) (rate(a_total{job=~"$job", x="1,2"}[5m])) / b + a_total{y!~'z'}`)
	want := []Selector{
		{Metric: "a_total", Matchers: []string{`job=~"$job"`, `x="1,2"`}},
		{Metric: "a_total", Matchers: []string{`y!~'z'`}},
		{Metric: "b"},
	}
	if !slices.EqualFunc(got, want, func(a, b Selector) bool { return a.Metric == b.Metric && slices.Equal(a.Matchers, b.Matchers) }) {
		t.Errorf("Selectors = %q, want %q", got, want)
	}
}

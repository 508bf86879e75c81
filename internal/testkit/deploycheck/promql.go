package deploycheck

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
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

// MetricNames returns the metric names a PromQL expression selects, in order of appearance.
// Label matchers, ranges, grouping clauses, strings and Grafana variables are removed first;
// an identifier followed by "(" is a function or an aggregation, one right after a digit or a
// dot is part of a number or a duration.
func MetricNames(expr string) []string {
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

// CheckQuery lists the problems of expr: no metric at all, or a metric the bridge does not
// register. _bucket, _sum and _count are accepted on documented histograms (and the last two
// on summaries).
func CheckQuery(expr string, reg Registered, docs MetricDocs) []string {
	names := MetricNames(expr)
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

func queryableMetric(name string, reg Registered, docs MetricDocs) bool {
	if reg.Names[name] || scrapeSeries[name] {
		return true
	}
	for suffix, types := range map[string][]string{
		"_bucket": {"histogram"}, "_sum": {"histogram", "summary"}, "_count": {"histogram", "summary"},
	} {
		base, ok := strings.CutSuffix(name, suffix)
		if ok && reg.Names[base] && slices.Contains(types, docs.Exact[base].Type) {
			return true
		}
	}
	return false
}

// Selector is one vector selector of an expression: a metric name and its label matchers.
type Selector struct {
	Metric   string
	Matchers []string // as written, e.g. `job=~"$job"`; nil without braces
}

// Selectors returns the selectors of the metrics MetricNames finds in expr, one per
// occurrence, in order.
func Selectors(expr string) []Selector {
	var out []Selector
	seen := map[string]bool{}
	for _, name := range MetricNames(expr) {
		if seen[name] {
			continue
		}
		seen[name] = true
		re := regexp.MustCompile(`(?:^|[^a-zA-Z0-9_:])` + regexp.QuoteMeta(name) + `\s*(\{[^{}]*\})?`)
		for _, m := range re.FindAllStringSubmatchIndex(expr, -1) {
			rest := expr[m[1]:]
			if m[2] < 0 && (strings.HasPrefix(strings.TrimLeft(rest, " \t\n"), "(") || rest != "" && isIdentChar(rest[0])) {
				continue // a function of the same name, or a longer identifier
			}
			s := Selector{Metric: name}
			if m[2] >= 0 {
				for _, part := range promMatcherSplit.FindAllString(expr[m[2]+1:m[3]-1], -1) {
					s.Matchers = append(s.Matchers, strings.TrimSpace(part))
				}
			}
			out = append(out, s)
		}
	}
	return out
}

// promMatcherSplit finds the matchers of a selector's braces: label, operator, quoted value.
var promMatcherSplit = regexp.MustCompile(`[a-zA-Z_][a-zA-Z0-9_]*\s*(?:=~|!~|!=|=)\s*(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`)")

func isIdentChar(c byte) bool {
	return c == '_' || c == ':' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

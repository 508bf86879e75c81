package deploycheck

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// AlertsPath is the alerting rule file, the one source of the shipped alerts.
const AlertsPath = "deploy/prometheus/alerts.yml"

// RuleFile is a Prometheus rule file.
type RuleFile struct {
	Groups []RuleGroup `yaml:"groups"`
}

// RuleGroup is one group of a rule file.
type RuleGroup struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval,omitempty"`
	Rules    []Rule `yaml:"rules"`
}

// Rule is an alerting rule (Alert set) or a recording rule (Record set).
type Rule struct {
	Record      string            `yaml:"record,omitempty"`
	Alert       string            `yaml:"alert,omitempty"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// LoadRules reads a rule file of the repository; unknown keys are errors.
func LoadRules(t testing.TB, rel string) RuleFile {
	t.Helper()
	var f RuleFile
	dec := yaml.NewDecoder(bytes.NewReader(ReadFile(t, rel)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return f
}

// Rules lists the rules of every group.
func (f RuleFile) Rules() []Rule {
	var out []Rule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	return out
}

// Name is the rule's alert or record name.
func (r Rule) Name() string { return r.Alert + r.Record }

var space = regexp.MustCompile(`\s+`)

// NormalizeExpr collapses the white space of a PromQL expression, for comparing copies of it.
func NormalizeExpr(expr string) string {
	return strings.TrimSpace(space.ReplaceAllString(expr, " "))
}

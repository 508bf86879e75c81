package deploy

import (
	"bytes"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/seabridge/seabridge/internal/testkit/deploycheck"
)

// alertJob is the scrape job every selector of the shipped rules names.
const alertJob = `job="seabridge"`

var severities = []string{"critical", "warning"}

// TestAlertRules checks the rule file against the code: every metric exists, every selector
// names the job, and every alert has a severity, a summary and a description.
func TestAlertRules(t *testing.T) {
	reg := deploycheck.RegisteredMetrics(t)
	docs := deploycheck.LoadMetricDocs(t)
	f := deploycheck.LoadRules(t, deploycheck.AlertsPath)
	names := map[string]bool{}
	alerts := 0
	for _, r := range f.Rules() {
		name := r.Name()
		if (r.Alert == "") == (r.Record == "") {
			t.Errorf("rule %q: want exactly one of alert and record", name)
		}
		if names[name] {
			t.Errorf("rule %s: defined twice", name)
		}
		names[name] = true
		for _, problem := range deploycheck.CheckQuery(r.Expr, reg, docs) {
			t.Errorf("rule %s: %s", name, problem)
		}
		for _, s := range deploycheck.Selectors(r.Expr) {
			if !slices.Contains(s.Matchers, alertJob) {
				t.Errorf("rule %s: %s%v does not select %s", name, s.Metric, s.Matchers, alertJob)
			}
		}
		if r.For != "" {
			if _, err := time.ParseDuration(r.For); err != nil {
				t.Errorf("rule %s: for %q: %v", name, r.For, err)
			}
		}
		if r.Alert == "" {
			continue
		}
		alerts++
		if !strings.HasPrefix(name, "Seabridge") {
			t.Errorf("alert %s: names start with Seabridge", name)
		}
		if !slices.Contains(severities, r.Labels["severity"]) {
			t.Errorf("alert %s: severity %q, want one of %v", name, r.Labels["severity"], severities)
		}
		if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("alert %s: want a summary and a description", name)
		}
	}
	if alerts < 10 {
		t.Errorf("%s: only %d alerts", deploycheck.AlertsPath, alerts)
	}
}

// ruleTests is the part of a promtool unit-test file that says which alerts are tested.
type ruleTests struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Name          string `yaml:"name"`
		AlertRuleTest []struct {
			AlertName string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// TestEveryAlertHasAUnitTest: alerts_test.yml loads alerts.yml and has, for every alert, a
// case in which it fires (promtool test rules runs them: test/prometheus).
func TestEveryAlertHasAUnitTest(t *testing.T) {
	var tests ruleTests
	if err := yaml.Unmarshal(deploycheck.ReadFile(t, "deploy/prometheus/alerts_test.yml"), &tests); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tests.RuleFiles, []string{"alerts.yml"}) {
		t.Errorf("alerts_test.yml: rule_files %q, want [alerts.yml]", tests.RuleFiles)
	}
	fires := map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			fires[a.AlertName] = fires[a.AlertName] || len(a.ExpAlerts) > 0
		}
	}
	alerts := map[string]bool{}
	for _, r := range deploycheck.LoadRules(t, deploycheck.AlertsPath).Rules() {
		if r.Alert != "" {
			alerts[r.Alert] = true
			if !fires[r.Alert] {
				t.Errorf("alert %s: no test case of alerts_test.yml fires it", r.Alert)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(fires)) {
		if !alerts[name] {
			t.Errorf("alerts_test.yml tests %s, which alerts.yml does not define", name)
		}
	}
}

var alertComment = regexp.MustCompile(`^(Seabridge\w+): (\w+)(?:, for (\S+))?$`)

// TestAlertsDocumented: docs/metrics.md shows every alert of the rule file, each as a
// "# Name: severity[, for D]" comment above its expression, and no other.
func TestAlertsDocumented(t *testing.T) {
	want := map[string]string{}
	var order []string
	for _, r := range deploycheck.LoadRules(t, deploycheck.AlertsPath).Rules() {
		if r.Alert == "" {
			continue
		}
		want[r.Alert] = docAlert(r.Labels["severity"], r.For, r.Expr)
		order = append(order, r.Alert)
	}
	got := map[string]string{}
	for _, q := range docQueries(string(deploycheck.ReadFile(t, "docs/metrics.md"))) {
		m := alertComment.FindStringSubmatch(q.comment)
		if m == nil {
			continue
		}
		if _, dup := got[m[1]]; dup {
			t.Errorf("docs/metrics.md shows %s twice", m[1])
		}
		got[m[1]] = docAlert(m[2], m[3], q.expr)
	}
	for _, name := range order {
		switch g, ok := got[name]; {
		case !ok:
			t.Errorf("docs/metrics.md does not show the alert %s: want\n%s", name, want[name])
		case g != want[name]:
			t.Errorf("docs/metrics.md shows the alert %s as\n%s\nwant (alerts.yml)\n%s", name, g, want[name])
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("docs/metrics.md shows an alert %s that alerts.yml does not define", name)
		}
	}
}

func docAlert(severity, forDuration, expr string) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "severity %s", severity)
	if forDuration != "" {
		fmt.Fprintf(&b, ", for %s", forDuration)
	}
	fmt.Fprintf(&b, ": %s", deploycheck.NormalizeExpr(expr))
	return b.String()
}

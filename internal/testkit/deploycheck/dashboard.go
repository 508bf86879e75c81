package deploycheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// DashboardPath is the Grafana dashboard, relative to the repository root.
const DashboardPath = "deploy/grafana/dashboards/seabridge.json"

// Dashboard is the part of a Grafana dashboard JSON model the checks read.
type Dashboard struct {
	Inputs        []DashboardInput `json:"__inputs"`
	UID           string           `json:"uid"`
	Title         string           `json:"title"`
	SchemaVersion int              `json:"schemaVersion"`
	Panels        []Panel          `json:"panels"`
	Templating    struct {
		List []Variable `json:"list"`
	} `json:"templating"`
}

// DashboardInput is one entry of __inputs: what Grafana's import asks for.
type DashboardInput struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	PluginID string `json:"pluginId"`
}

// Variable is one template variable.
type Variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Datasource *Datasource     `json:"datasource"`
	Query      json.RawMessage `json:"query"`
	Current    struct {
		Value json.RawMessage `json:"value"`
	} `json:"current"`
	Multi      bool   `json:"multi"`
	IncludeAll bool   `json:"includeAll"`
	AllValue   string `json:"allValue"`
}

// QueryString is the variable's query, written either as a string or as {"query": "..."}.
func (v Variable) QueryString() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var q struct {
		Query string `json:"query"`
	}
	_ = json.Unmarshal(v.Query, &q)
	return q.Query
}

// Datasource is a datasource reference of a panel, target or variable.
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Panel is a panel or a row.
type Panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *Datasource `json:"datasource"`
	GridPos    *struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []Target `json:"targets"`
	Panels  []Panel  `json:"panels"` // of a collapsed row
}

// Target is one query of a panel.
type Target struct {
	Expr       string      `json:"expr"`
	RefID      string      `json:"refId"`
	Datasource *Datasource `json:"datasource"`
}

// LoadDashboard reads the dashboard.
func LoadDashboard(t testing.TB) Dashboard {
	t.Helper()
	var d Dashboard
	dec := json.NewDecoder(bytes.NewReader(ReadFile(t, DashboardPath)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", DashboardPath, err)
	}
	return d
}

// AllPanels flattens rows: the panels of a collapsed row follow the row.
func (d Dashboard) AllPanels() []Panel { return flatten(d.Panels) }

func flatten(ps []Panel) []Panel {
	var out []Panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, flatten(p.Panels)...)
	}
	return out
}

// Query is one PromQL expression of the dashboard and where it is.
type Query struct {
	Where string // panel 6 "Messages in / s" target A
	Panel Panel
	Expr  string
}

// Queries lists the expressions of every panel's targets, in the dashboard's order.
func (d Dashboard) Queries() []Query {
	var out []Query
	for _, p := range d.AllPanels() {
		for _, tg := range p.Targets {
			out = append(out, Query{Where: fmt.Sprintf("panel %d %q target %s", p.ID, p.Title, tg.RefID), Panel: p, Expr: tg.Expr})
		}
	}
	return out
}

var grafanaVariable = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)`)

// ExpandVariables replaces Grafana's variable references ($name, ${name}, ${name:fmt},
// [[name]]) in expr with their values; it fails the test on a variable not in values.
func ExpandVariables(t testing.TB, expr string, values map[string]string) string {
	t.Helper()
	return grafanaVariable.ReplaceAllStringFunc(expr, func(ref string) string {
		m := grafanaVariable.FindStringSubmatch(ref)
		name := strings.Join(m[1:], "")
		v, ok := values[name]
		if !ok {
			t.Fatalf("%q: no value for the variable %s", expr, ref)
		}
		return v
	})
}

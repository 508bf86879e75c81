package deploy

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

const dashboardPath = "deploy/grafana/dashboards/seabridge.json"

type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Datasource *datasource     `json:"datasource"`
			Query      json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	GridPos    *struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		Expr       string      `json:"expr"`
		RefID      string      `json:"refId"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // of a collapsed row
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal(readRepoFile(t, dashboardPath), &d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	return d
}

// allPanels flattens rows: the panels of collapsed rows follow their row.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// dashboardExprs lists every PromQL expression of the dashboard with where it is, and checks
// the structure around them: unique panel ids, grid positions, the "prometheus" datasource.
func dashboardExprs(t *testing.T, d dashboard) map[string]string {
	t.Helper()
	exprs := map[string]string{}
	ids := map[int]bool{}
	for _, p := range allPanels(d.Panels) {
		where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if ids[p.ID] {
			t.Errorf("%s: duplicate panel id", where)
		}
		ids[p.ID] = true
		if p.GridPos == nil || p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("%s: bad gridPos %+v", where, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "prometheus" {
			t.Errorf("%s: datasource %+v, want uid \"prometheus\"", where, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: no targets", where)
		}
		for _, tg := range p.Targets {
			if tg.Datasource != nil && tg.Datasource.UID != "prometheus" {
				t.Errorf("%s target %s: datasource uid %q", where, tg.RefID, tg.Datasource.UID)
			}
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("%s target %s: empty expr", where, tg.RefID)
			}
			exprs[tg.Expr] = fmt.Sprintf("%s target %s", where, tg.RefID)
		}
	}
	return exprs
}

var labelValues = regexp.MustCompile(`^label_values\(\s*([^,]+),\s*\w+\s*\)$`)

func TestDashboard(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" || d.SchemaVersion < 36 {
		t.Errorf("uid %q, title %q, schemaVersion %d: want both set and schemaVersion >= 36", d.UID, d.Title, d.SchemaVersion)
	}
	reg := registeredMetrics(t)
	docs := loadMetricDocs(t)
	exprs := dashboardExprs(t, d)
	for expr, where := range exprs {
		for _, problem := range checkQuery(expr, reg, docs) {
			t.Errorf("%s: %s", where, problem)
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		if v.Datasource == nil || v.Datasource.UID != "prometheus" {
			t.Errorf("variable %s: datasource %+v", v.Name, v.Datasource)
		}
		var q struct{ Query string }
		if err := json.Unmarshal(v.Query, &q); err != nil {
			_ = json.Unmarshal(v.Query, &q.Query)
		}
		m := labelValues.FindStringSubmatch(strings.TrimSpace(q.Query))
		if m == nil {
			t.Errorf("variable %s: query %s is not label_values(metric, label)", v.Name, v.Query)
			continue
		}
		for _, problem := range checkQuery(m[1], reg, docs) {
			t.Errorf("variable %s: %s", v.Name, problem)
		}
	}
	used := map[string]bool{}
	var all []string
	for expr := range exprs {
		for _, n := range metricNames(expr) {
			used[n] = true
		}
		all = append(all, expr)
	}
	for _, want := range []string{
		"seabridge_pipeline_messages_in_total", "seabridge_pipeline_messages_out_total",
		"seabridge_pipeline_messages_dead_lettered_total", "seabridge_pipeline_messages_dropped_total",
		"seabridge_pipeline_errors_total", "seabridge_pipeline_end_to_end_latency_seconds_bucket",
		"seabridge_kafka_consumer_lag", "seabridge_streamsea_ws_connected", "seabridge_pipeline_reconnects_total",
		"seabridge_streamsea_publish_duration_seconds_bucket", "seabridge_kafka_produce_duration_seconds_bucket",
		"seabridge_pipeline_in_flight_messages", "seabridge_pipeline_up",
	} {
		if !used[want] {
			t.Errorf("the dashboard shows no %s", want)
		}
	}
	joined := strings.Join(all, "\n")
	for _, q := range []string{"histogram_quantile(0.5,", "histogram_quantile(0.99,"} {
		if !strings.Contains(joined, q) {
			t.Errorf("the dashboard has no %s ...) panel", q)
		}
	}
}

type grafanaDatasource struct {
	UID  string `yaml:"uid"`
	Type string `yaml:"type"`
	URL  string `yaml:"url"`
}

// TestMonitoringWiring checks the files the Prometheus and Grafana services mount: Prometheus
// scrapes the bridge service on its metrics port, Grafana's datasource reaches Prometheus
// with uid "prometheus", and the dashboard provider reads the mounted dashboard directory.
func TestMonitoringWiring(t *testing.T) {
	p := loadCompose(t)
	cfg, err := composeBridgeConfig(t, p)
	if err != nil {
		t.Fatal(err)
	}
	_, metricsPort, _ := net.SplitHostPort(cfg.HTTP.Listen)

	var prom struct {
		ScrapeConfigs []struct {
			JobName      string `yaml:"job_name"`
			DNSSDConfigs []struct {
				Names []string `yaml:"names"`
				Port  int      `yaml:"port"`
			} `yaml:"dns_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(readRepoFile(t, "deploy/prometheus.yml"), &prom); err != nil {
		t.Fatalf("deploy/prometheus.yml: %v", err)
	}
	scraped := false
	for _, sc := range prom.ScrapeConfigs {
		for _, dns := range sc.DNSSDConfigs {
			for _, name := range dns.Names {
				if _, ok := p.Services[name]; !ok {
					t.Errorf("deploy/prometheus.yml: job %s scrapes %q, not a compose service", sc.JobName, name)
				}
				scraped = scraped || (name == "bridge" && fmt.Sprint(dns.Port) == metricsPort && sc.JobName == "seabridge")
			}
		}
	}
	if !scraped {
		t.Errorf("deploy/prometheus.yml: no job \"seabridge\" scrapes the bridge service on port %s", metricsPort)
	}
	if mountedSource(service(t, p, "prometheus"), "/etc/prometheus/prometheus.yml") != repoPath(t, "deploy/prometheus.yml") {
		t.Error("the prometheus service does not mount deploy/prometheus.yml")
	}

	var sources struct {
		Datasources []grafanaDatasource `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(readRepoFile(t, "deploy/grafana/provisioning/datasources/prometheus.yml"), &sources); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(sources.Datasources, func(d grafanaDatasource) bool { return d.UID == "prometheus" })
	if i < 0 {
		t.Fatal("no Grafana datasource with uid \"prometheus\"")
	}
	u, err := url.Parse(sources.Datasources[i].URL)
	if err != nil || sources.Datasources[i].Type != "prometheus" {
		t.Fatalf("datasource %+v: %v", sources.Datasources[i], err)
	}
	if _, ok := p.Services[u.Hostname()]; !ok {
		t.Errorf("datasource url %s: %s is not a compose service", u, u.Hostname())
	}

	var providers struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	if err := yaml.Unmarshal(readRepoFile(t, "deploy/grafana/provisioning/dashboards/seabridge.yml"), &providers); err != nil {
		t.Fatal(err)
	}
	grafana := service(t, p, "grafana")
	for _, pr := range providers.Providers {
		if mountedSource(grafana, pr.Options.Path) != repoPath(t, "deploy/grafana/dashboards") {
			t.Errorf("dashboard provider path %s is not where deploy/grafana/dashboards is mounted", pr.Options.Path)
		}
	}
	if mountedSource(grafana, "/etc/grafana/provisioning") != repoPath(t, "deploy/grafana/provisioning") {
		t.Error("the grafana service does not mount deploy/grafana/provisioning")
	}
}

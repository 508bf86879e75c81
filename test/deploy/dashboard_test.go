package deploy

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/seabridge/seabridge/internal/testkit/deploycheck"
)

// dashboardDatasource is the datasource reference of every panel, target and query variable:
// the dashboard's datasource variable, so that it works with any Prometheus datasource.
const dashboardDatasource = "${datasource}"

// checkDashboardStructure checks what is around the expressions: unique panel ids, grid
// positions, the datasource variable on every panel and target, targets on every panel.
func checkDashboardStructure(t *testing.T, d deploycheck.Dashboard) {
	t.Helper()
	ids := map[int]bool{}
	for _, p := range d.AllPanels() {
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
		if p.Datasource == nil || p.Datasource.UID != dashboardDatasource || p.Datasource.Type != "prometheus" {
			t.Errorf("%s: datasource %+v, want prometheus %s", where, p.Datasource, dashboardDatasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: no targets", where)
		}
		for _, tg := range p.Targets {
			if tg.Datasource == nil || tg.Datasource.UID != dashboardDatasource {
				t.Errorf("%s target %s: datasource %+v, want %s", where, tg.RefID, tg.Datasource, dashboardDatasource)
			}
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("%s target %s: empty expr", where, tg.RefID)
			}
		}
	}
}

var labelValues = regexp.MustCompile(`^label_values\(\s*(.+),\s*(\w+)\s*\)$`)

// TestDashboardVariables: the datasource is a variable that defaults to what Grafana's import
// asked for (__inputs), and the scrape job and instances are variables, so that the dashboard
// works whatever the datasource and the job are called (a ServiceMonitor names the job after
// the Service). Each query variable narrows the next: job, instance, pipeline.
func TestDashboardVariables(t *testing.T) {
	d := deploycheck.LoadDashboard(t)
	if len(d.Inputs) != 1 || d.Inputs[0].Type != "datasource" || d.Inputs[0].PluginID != "prometheus" {
		t.Fatalf("__inputs %+v: want one prometheus datasource input", d.Inputs)
	}
	vars := map[string]deploycheck.Variable{}
	var order []string
	for _, v := range d.Templating.List {
		vars[v.Name] = v
		order = append(order, v.Name)
	}
	if want := []string{"datasource", "job", "instance", "pipeline"}; !slices.Equal(order, want) {
		t.Errorf("variables %q, want %q", order, want)
	}
	ds := vars["datasource"]
	if ds.Type != "datasource" || string(ds.Query) != `"prometheus"` {
		t.Errorf("variable datasource: type %q, query %s; want a prometheus datasource variable", ds.Type, ds.Query)
	}
	if want := `"${` + d.Inputs[0].Name + `}"`; string(ds.Current.Value) != want {
		t.Errorf("variable datasource: current %s, want %s (the datasource chosen at import)", ds.Current.Value, want)
	}
	reg := deploycheck.RegisteredMetrics(t)
	docs := deploycheck.LoadMetricDocs(t)
	wantLabel := map[string]string{"job": "job", "instance": "instance", "pipeline": "pipeline"}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		if v.Datasource == nil || v.Datasource.UID != dashboardDatasource {
			t.Errorf("variable %s: datasource %+v, want %s", v.Name, v.Datasource, dashboardDatasource)
		}
		m := labelValues.FindStringSubmatch(strings.TrimSpace(v.QueryString()))
		if m == nil {
			t.Errorf("variable %s: query %s is not label_values(metric, label)", v.Name, v.Query)
			continue
		}
		if m[2] != wantLabel[v.Name] {
			t.Errorf("variable %s: label_values of %s, want %s", v.Name, m[2], wantLabel[v.Name])
		}
		for _, problem := range deploycheck.CheckQuery(m[1], reg, docs) {
			t.Errorf("variable %s: %s", v.Name, problem)
		}
		if v.Multi && v.AllValue != ".*" {
			t.Errorf("variable %s: allValue %q, want .* (matchers use =~)", v.Name, v.AllValue)
		}
	}
	if vars["job"].Multi {
		t.Error("variable job: one job at a time (its instances follow it)")
	}
	for _, name := range []string{"instance", "pipeline"} {
		if !vars[name].Multi || !vars[name].IncludeAll {
			t.Errorf("variable %s: want multi-value with All", name)
		}
	}
	text := string(deploycheck.ReadFile(t, deploycheck.DashboardPath))
	if strings.Contains(text, `"uid": "prometheus"`) || strings.Contains(text, `job=\"`) {
		t.Error("the dashboard names a datasource uid or a job literally")
	}
}

// selectorMatchers are the matchers every selector of the dashboard must carry, by the
// variable they apply.
var selectorMatchers = map[string]string{
	"job": `job=~"$job"`, "instance": `instance=~"$instance"`, "pipeline": `pipeline=~"$pipeline"`,
}

func TestDashboard(t *testing.T) {
	d := deploycheck.LoadDashboard(t)
	if d.UID == "" || d.Title == "" || d.SchemaVersion < 36 {
		t.Errorf("uid %q, title %q, schemaVersion %d: want both set and schemaVersion >= 36", d.UID, d.Title, d.SchemaVersion)
	}
	checkDashboardStructure(t, d)
	reg := deploycheck.RegisteredMetrics(t)
	docs := deploycheck.LoadMetricDocs(t)
	used := map[string]bool{}
	var all []string
	for _, q := range d.Queries() {
		for _, problem := range deploycheck.CheckQuery(q.Expr, reg, docs) {
			t.Errorf("%s: %s", q.Where, problem)
		}
		for _, s := range deploycheck.Selectors(q.Expr) {
			used[s.Metric] = true
			want := []string{selectorMatchers["job"], selectorMatchers["instance"]}
			// The consumer-group series carry consumergroup instead of pipeline.
			if strings.HasPrefix(s.Metric, "seabridge_") && s.Metric != "seabridge_build_info" && !strings.HasPrefix(s.Metric, "seabridge_kafka_consumergroup_") {
				want = append(want, selectorMatchers["pipeline"])
			}
			for _, m := range want {
				if !slices.Contains(s.Matchers, m) {
					t.Errorf("%s: %s%v lacks %s", q.Where, s.Metric, s.Matchers, m)
				}
			}
		}
		all = append(all, q.Expr)
	}
	for _, want := range []string{
		"seabridge_pipeline_messages_in_total", "seabridge_pipeline_messages_out_total",
		"seabridge_pipeline_messages_dead_lettered_total", "seabridge_pipeline_messages_dropped_total",
		"seabridge_pipeline_errors_total", "seabridge_pipeline_end_to_end_latency_seconds_bucket",
		"seabridge_kafka_consumer_lag", "seabridge_streamsea_ws_connected", "seabridge_pipeline_reconnects_total",
		"seabridge_streamsea_publish_duration_seconds_bucket", "seabridge_kafka_produce_duration_seconds_bucket",
		"seabridge_pipeline_in_flight_messages", "seabridge_pipeline_up",
		"seabridge_streamsea_oldest_in_flight_age_seconds", "seabridge_streamsea_ws_reading_paused",
		"seabridge_kafka_consumergroup_lag_sum",
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
	UID       string `yaml:"uid"`
	Type      string `yaml:"type"`
	URL       string `yaml:"url"`
	IsDefault bool   `yaml:"isDefault"`
}

// TestMonitoringWiring checks the files the Prometheus and Grafana services mount: Prometheus
// scrapes every bridge instance (through their alias) on its metrics port, Grafana's default datasource reaches
// Prometheus (the dashboard's datasource variable picks it), and the dashboard provider reads
// the mounted dashboard directory.
func TestMonitoringWiring(t *testing.T) {
	p := loadCompose(t)
	cfg, err := composeBridgeConfig(t, p)
	if err != nil {
		t.Fatal(err)
	}
	_, metricsPort, _ := net.SplitHostPort(cfg.HTTP.Listen)

	prometheus := service(t, p, "prometheus")
	promDir := mountedSource(prometheus, "/etc/prometheus")
	if promDir != deploycheck.RepoPath(t, "deploy/prometheus") {
		t.Fatalf("the prometheus service mounts %q at /etc/prometheus, want deploy/prometheus", promDir)
	}
	if !slices.Contains(prometheus.Command, "--config.file=/etc/prometheus/prometheus.yml") {
		t.Errorf("the prometheus service runs %q, want --config.file=/etc/prometheus/prometheus.yml", prometheus.Command)
	}
	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName      string `yaml:"job_name"`
			DNSSDConfigs []struct {
				Names []string `yaml:"names"`
				Port  int      `yaml:"port"`
			} `yaml:"dns_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	const promConfig = "deploy/prometheus/prometheus.yml"
	if err := yaml.Unmarshal(deploycheck.ReadFile(t, promConfig), &prom); err != nil {
		t.Fatalf("%s: %v", promConfig, err)
	}
	// Relative rule files are resolved against the config file's directory.
	if !slices.Contains(prom.RuleFiles, path.Base(deploycheck.AlertsPath)) {
		t.Errorf("%s: rule_files %q does not load %s", promConfig, prom.RuleFiles, deploycheck.AlertsPath)
	}
	scraped := false
	for _, sc := range prom.ScrapeConfigs {
		for _, dns := range sc.DNSSDConfigs {
			for _, name := range dns.Names {
				if _, ok := p.Services[name]; !ok && name != bridgeAlias {
					t.Errorf("%s: job %s scrapes %q, neither a compose service nor the bridge instances' alias", promConfig, sc.JobName, name)
				}
				scraped = scraped || (name == bridgeAlias && fmt.Sprint(dns.Port) == metricsPort && sc.JobName == "seabridge")
			}
		}
	}
	if !scraped {
		t.Errorf("%s: no job \"seabridge\" (the job the alerts select) scrapes the bridge instances (%q) on port %s", promConfig, bridgeAlias, metricsPort)
	}

	var sources struct {
		Datasources []grafanaDatasource `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(deploycheck.ReadFile(t, "deploy/grafana/provisioning/datasources/prometheus.yml"), &sources); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(sources.Datasources, func(d grafanaDatasource) bool { return d.IsDefault })
	if i < 0 {
		t.Fatal("no default Grafana datasource")
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
	if err := yaml.Unmarshal(deploycheck.ReadFile(t, "deploy/grafana/provisioning/dashboards/seabridge.yml"), &providers); err != nil {
		t.Fatal(err)
	}
	grafana := service(t, p, "grafana")
	for _, pr := range providers.Providers {
		if mountedSource(grafana, pr.Options.Path) != deploycheck.RepoPath(t, "deploy/grafana/dashboards") {
			t.Errorf("dashboard provider path %s is not where deploy/grafana/dashboards is mounted", pr.Options.Path)
		}
	}
	if mountedSource(grafana, "/etc/grafana/provisioning") != deploycheck.RepoPath(t, "deploy/grafana/provisioning") {
		t.Error("the grafana service does not mount deploy/grafana/provisioning")
	}
}

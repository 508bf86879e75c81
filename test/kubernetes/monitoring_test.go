package kubernetes

import (
	"bytes"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/seabridge/seabridge/internal/testkit/deploycheck"
)

var update = flag.Bool("update", false, "write "+prometheusRulePath+" from "+deploycheck.AlertsPath)

const prometheusRulePath = "deploy/kubernetes/monitoring/prometheusrule.yaml"

// alertGroups decodes the shipped rule file strictly into the Prometheus Operator's rule
// groups: a key the operator does not know is an error here too.
func alertGroups(t *testing.T) []monitoringv1.RuleGroup {
	t.Helper()
	var f struct {
		Groups []monitoringv1.RuleGroup `json:"groups"`
	}
	if err := decodeStrict(deploycheck.ReadFile(t, deploycheck.AlertsPath), &f); err != nil {
		t.Fatalf("%s as PrometheusRule groups: %v", deploycheck.AlertsPath, err)
	}
	return f.Groups
}

// prometheusRule is the text of prometheusrule.yaml: the groups of alerts.yml in a
// PrometheusRule named seabridge.
func prometheusRule(t *testing.T) []byte {
	t.Helper()
	obj := map[string]any{
		"apiVersion": "monitoring.coreos.com/v1",
		"kind":       "PrometheusRule",
		"metadata": map[string]any{
			"name":   "seabridge",
			"labels": map[string]string{"app.kubernetes.io/name": "seabridge"},
		},
		"spec": map[string]any{"groups": alertGroups(t)},
	}
	b, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	header := "# The alerts of deploy/prometheus/alerts.yml for the Prometheus Operator. Generated from that\n" +
		"# file, do not edit: change alerts.yml, then (in test/kubernetes) go test -run TestPrometheusRule -update\n"
	return append([]byte(header), b...)
}

// TestPrometheusRuleIsTheAlertsFile: the PrometheusRule carries exactly the groups of
// alerts.yml, so that Kubernetes and docker-compose alert alike.
func TestPrometheusRuleIsTheAlertsFile(t *testing.T) {
	want := prometheusRule(t)
	if *update {
		if err := os.WriteFile(deploycheck.RepoPath(t, prometheusRulePath), want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := deploycheck.ReadFile(t, prometheusRulePath); !bytes.Equal(got, want) {
		t.Fatalf("%s differs from what %s makes; in test/kubernetes run go test -run TestPrometheusRule -update\n--- want\n%s", prometheusRulePath, deploycheck.AlertsPath, want)
	}
	rule := only[monitoringv1.PrometheusRule](t, build(t, "monitoring"))
	if !reflect.DeepEqual(rule.Spec.Groups, alertGroups(t)) {
		t.Errorf("the PrometheusRule built by kustomize differs from %s", deploycheck.AlertsPath)
	}
}

// TestServiceMonitor: the ServiceMonitor selects the bridge's Service, scrapes its metrics
// port at /metrics, and names the job after the Service: the job the alerts select.
func TestServiceMonitor(t *testing.T) {
	base := build(t, "base")
	svc := only[corev1.Service](t, base)
	sm := only[monitoringv1.ServiceMonitor](t, build(t, "monitoring"))
	if !selects(t, &sm.Spec.Selector, svc.Labels) {
		t.Errorf("the ServiceMonitor's selector %v does not select the Service's labels %v", sm.Spec.Selector, svc.Labels)
	}
	if len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("ServiceMonitor: %d endpoints, want 1", len(sm.Spec.Endpoints))
	}
	ep := sm.Spec.Endpoints[0]
	if ep.Port != metricsPortName {
		t.Errorf("ServiceMonitor endpoint port %v, want %q", ep.Port, metricsPortName)
	}
	found := false
	for _, p := range svc.Spec.Ports {
		found = found || p.Name == ep.Port
	}
	if !found {
		t.Errorf("the Service has no port named %v", ep.Port)
	}
	if ep.Path != "/metrics" {
		t.Errorf("ServiceMonitor path %q, want /metrics", ep.Path)
	}
	if sm.Spec.JobLabel != "" || "job=\""+svc.Name+"\"" != alertJob(t) {
		t.Errorf("the scrape job is named after the Service %q (jobLabel %q); the alerts select %s", svc.Name, sm.Spec.JobLabel, alertJob(t))
	}
}

// alertJob is the job matcher the shipped alerts select, e.g. job="seabridge" (test/deploy
// checks that every selector of alerts.yml has it).
func alertJob(t *testing.T) string {
	t.Helper()
	jobs := map[string]bool{}
	for _, r := range deploycheck.LoadRules(t, deploycheck.AlertsPath).Rules() {
		for _, s := range deploycheck.Selectors(r.Expr) {
			for _, m := range s.Matchers {
				if strings.HasPrefix(m, "job=") {
					jobs[m] = true
				}
			}
		}
	}
	if len(jobs) != 1 {
		t.Fatalf("%s selects the jobs %v, want one", deploycheck.AlertsPath, jobs)
	}
	for j := range jobs {
		return j
	}
	return ""
}

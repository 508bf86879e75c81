package kubernetes

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"

	"github.com/seabridge/seabridge/internal/config"
	"github.com/seabridge/seabridge/internal/testkit/deploycheck"
)

// ownerLagMetric is the lag series exported only by the instance that owns the partition.
const ownerLagMetric = "seabridge_kafka_consumergroup_lag_sum"

// checkBaseObjects checks that a variant built on base/ has base/'s one ServiceAccount,
// Service, PodDisruptionBudget and ConfigMap.
func checkBaseObjects(t *testing.T, variant string, objs objects) {
	t.Helper()
	for name, n := range map[string]int{
		"ServiceAccount": count[corev1.ServiceAccount](objs), "Service": count[corev1.Service](objs),
		"PodDisruptionBudget": count[policyv1.PodDisruptionBudget](objs), "ConfigMap": count[corev1.ConfigMap](objs),
	} {
		if n != 1 {
			t.Errorf("%s/ makes %d %s, want base/'s one", variant, n, name)
		}
	}
}

// TestScaledObject: the keda overlay is the whole bridge plus a ScaledObject that scales its
// Deployment (whose fixed replica count it drops) on a Prometheus query of the lag of a
// Kafka -> stream-sea pipeline of the config, a query of metrics the bridge exports.
func TestScaledObject(t *testing.T) {
	objs := build(t, "keda")
	d := only[appsv1.Deployment](t, objs)
	if d.Spec.Replicas != nil {
		t.Errorf("the keda overlay keeps replicas: %d; the HorizontalPodAutoscaler KEDA makes owns it", *d.Spec.Replicas)
	}
	checkBaseObjects(t, "keda", objs)
	so := only[kedav1alpha1.ScaledObject](t, objs)
	ref := so.Spec.ScaleTargetRef
	if ref == nil || ref.Name != d.Name || (ref.Kind != "" && ref.Kind != "Deployment") || (ref.APIVersion != "" && ref.APIVersion != "apps/v1") {
		t.Fatalf("scaleTargetRef %+v: want the Deployment %s", ref, d.Name)
	}
	if so.Spec.MinReplicaCount == nil || *so.Spec.MinReplicaCount < 1 {
		t.Errorf("minReplicaCount %s: want at least 1 (with no replica nothing exports the lag, and the stream-sea -> Kafka pipelines stop)", ptrString(so.Spec.MinReplicaCount))
	}
	if so.Spec.MaxReplicaCount == nil || so.Spec.MinReplicaCount == nil || *so.Spec.MaxReplicaCount < *so.Spec.MinReplicaCount {
		t.Errorf("maxReplicaCount %s below minReplicaCount", ptrString(so.Spec.MaxReplicaCount))
	}
	if len(so.Spec.Triggers) != 1 || so.Spec.Triggers[0].Type != "prometheus" {
		t.Fatalf("triggers %+v: want one prometheus trigger", so.Spec.Triggers)
	}
	md := so.Spec.Triggers[0].Metadata
	for _, key := range []string{"serverAddress", "query", "threshold"} {
		if md[key] == "" {
			t.Errorf("prometheus trigger: no %s", key)
		}
	}
	if u, err := url.Parse(md["serverAddress"]); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		t.Errorf("prometheus trigger: serverAddress %q is not an http(s) URL", md["serverAddress"])
	}
	if v, err := strconv.ParseFloat(md["threshold"], 64); err != nil || v <= 0 {
		t.Errorf("prometheus trigger: threshold %q is not a positive number", md["threshold"])
	}

	query := md["query"]
	for _, problem := range deploycheck.CheckQuery(query, deploycheck.RegisteredMetrics(t), deploycheck.LoadMetricDocs(t)) {
		t.Errorf("prometheus trigger: %s", problem)
	}
	if !strings.HasPrefix(query, "sum(") {
		t.Errorf("query %q: KEDA wants one value: sum( ... )", query)
	}
	cfg, _ := containerConfig(t, objs, d.Spec.Template.Spec, container(t, d.Spec.Template.Spec, bridgeContainer, false))
	var groups []string
	for _, p := range cfg.Pipelines {
		if p.Source.Type == config.EndpointKafka && p.Enabled {
			groups = append(groups, `consumergroup="`+p.Source.GroupID+`"`)
		}
	}
	for _, s := range deploycheck.Selectors(query) {
		if s.Metric != ownerLagMetric {
			t.Errorf("query selects %s: want %s, which only the partition's owner exports (sum counts each partition once)", s.Metric, ownerLagMetric)
		}
		if !slices.Contains(s.Matchers, alertJob(t)) {
			t.Errorf("query selector %s%v does not select %s, the job of the ServiceMonitor", s.Metric, s.Matchers, alertJob(t))
		}
		if !slices.ContainsFunc(s.Matchers, func(m string) bool { return slices.Contains(groups, m) }) {
			t.Errorf("query selector %s%v names none of the consumer groups of the config's Kafka-source pipelines %v", s.Metric, s.Matchers, groups)
		}
	}
}

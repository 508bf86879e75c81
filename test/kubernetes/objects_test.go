package kubernetes

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/seabridge/seabridge/internal/testkit/deploycheck"
)

// kinds are the objects deploy/kubernetes may hold, by apiVersion and kind, each with the Go
// type of its API: anything else is an error.
var kinds = map[string]func() any{
	"v1/ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                               func() any { return &corev1.Secret{} },
	"v1/Service":                              func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                       func() any { return &corev1.ServiceAccount{} },
	"apps/v1/Deployment":                      func() any { return &appsv1.Deployment{} },
	"apps/v1/StatefulSet":                     func() any { return &appsv1.StatefulSet{} },
	"policy/v1/PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &monitoringv1.ServiceMonitor{} },
	"monitoring.coreos.com/v1/PrometheusRule": func() any { return &monitoringv1.PrometheusRule{} },
	"keda.sh/v1alpha1/ScaledObject":           func() any { return &kedav1alpha1.ScaledObject{} },
}

// decodeStrict decodes one YAML document into v the way the API server reads JSON: field
// names are case-sensitive, and unknown or duplicate fields are errors.
func decodeStrict(doc []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, v)
	if err != nil {
		return err
	}
	if len(strict) > 0 {
		var msgs []string
		for _, e := range strict {
			msgs = append(msgs, e.Error())
		}
		return fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	return nil
}

// decodeObject decodes one manifest into the API type of its apiVersion and kind.
func decodeObject(doc []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	newObj, ok := kinds[tm.APIVersion+"/"+tm.Kind]
	if !ok {
		return nil, fmt.Errorf("apiVersion %q kind %q is not a kind deploy/kubernetes may hold", tm.APIVersion, tm.Kind)
	}
	obj := newObj()
	if err := decodeStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	return obj, nil
}

// objects is what one kustomization makes, decoded.
type objects struct {
	list []any
}

// build runs kustomize on a directory of deploy/kubernetes, as kubectl apply -k would, and
// decodes every object it makes.
func build(t *testing.T, dir string) objects {
	t.Helper()
	path := deploycheck.RepoPath(t, "deploy/kubernetes/"+dir)
	checkKustomizationFile(t, path)
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), path)
	if err != nil {
		t.Fatalf("kustomize build deploy/kubernetes/%s: %v", dir, err)
	}
	out, err := res.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	var objs objects
	for i, doc := range bytes.Split(out, []byte("\n---\n")) {
		obj, err := decodeObject(doc)
		if err != nil {
			t.Fatalf("kustomize build deploy/kubernetes/%s, object %d: %v\n%s", dir, i, err, doc)
		}
		objs.list = append(objs.list, obj)
	}
	return objs
}

// checkKustomizationFile decodes a kustomization.yaml strictly into kustomize's own type.
func checkKustomizationFile(t *testing.T, dir string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k kustypes.Kustomization
	if err := decodeStrict(b, &k); err != nil {
		t.Errorf("%s/kustomization.yaml: %v", dir, err)
	}
}

// only returns the one object of type T, failing the test when there is not exactly one.
func only[T any](t *testing.T, objs objects) *T {
	t.Helper()
	var found []*T
	for _, o := range objs.list {
		if v, ok := o.(*T); ok {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("want one %T, found %d", zero, len(found))
	}
	return found[0]
}

// count returns how many objects of type T there are.
func count[T any](objs objects) int {
	n := 0
	for _, o := range objs.list {
		if _, ok := o.(*T); ok {
			n++
		}
	}
	return n
}

// TestStrictDecodingRejects shows that the decoding catches what kubectl would reject or,
// worse, silently drop: an unknown field, a misspelt one (field names are case-sensitive),
// a duplicate key, a wrong type, an unknown kind.
func TestStrictDecodingRejects(t *testing.T) {
	good := "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\nautomountServiceAccountToken: false\n"
	if _, err := decodeObject([]byte(good)); err != nil {
		t.Fatalf("a valid ServiceAccount: %v", err)
	}
	for name, doc := range map[string]string{
		"unknown field":   "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\nautomount: false\n",
		"case":            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  Name: a\n",
		"duplicate":       "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n  name: b\n",
		"type":            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\nautomountServiceAccountToken: \"no\"\n",
		"kind":            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n",
		"nested unknown":  "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          imagePullPolcy: Always\n",
		"crd unknown":     "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata:\n  name: a\nspec:\n  scaleTargetRef:\n    name: d\n  maxReplicas: 3\n",
		"monitor unknown": "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: a\nspec:\n  endpoints:\n    - port: metrics\n      scrapeInterval: 15s\n",
	} {
		if _, err := decodeObject([]byte(doc)); err == nil {
			t.Errorf("%s: accepted\n%s", name, doc)
		}
	}
}

// TestEveryManifestDecodes decodes every YAML file of deploy/kubernetes strictly, whether a
// kustomization uses it or not (secret.example.yaml), and checks that deploy/kubernetes
// itself builds what base/ builds.
func TestEveryManifestDecodes(t *testing.T) {
	root := deploycheck.RepoPath(t, "deploy/kubernetes")
	n := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || (!strings.HasSuffix(path, ".yaml") && !strings.HasSuffix(path, ".yml")) {
			return err
		}
		n++
		rel, _ := filepath.Rel(root, path)
		if filepath.Base(path) == "kustomization.yaml" {
			checkKustomizationFile(t, filepath.Dir(path))
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, doc := range bytes.Split(b, []byte("\n---\n")) {
			if _, err := decodeObject(doc); err != nil {
				t.Errorf("deploy/kubernetes/%s, document %d: %v", rel, i, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Errorf("only %d YAML files under deploy/kubernetes", n)
	}
	top, base := build(t, "."), build(t, "base")
	if len(top.list) != len(base.list) {
		t.Errorf("deploy/kubernetes builds %d objects, base/ %d", len(top.list), len(base.list))
	}
}

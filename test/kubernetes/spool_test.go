package kubernetes

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seabridge/seabridge/internal/config"
	"github.com/seabridge/seabridge/internal/testkit/proctest"
)

// workloadDirs are the kustomizations that run the bridge: base/ as a Deployment, spool/ as a
// StatefulSet with a volume per pod for the spool.
var workloadDirs = []string{"base", "spool"}

// volumeHeadroom is the share of a claim's size the spools on it may take: the filesystem
// keeps some (ext4 reserves 5% for root, which the bridge's user cannot use).
const volumeHeadroom = 0.9

// podSpec is the pod of the one workload of a build, a Deployment or a StatefulSet, with
// the volumes of a StatefulSet's claim templates added as its controller adds them (a claim
// named TEMPLATE-STATEFULSET-ORDINAL, here ordinal 0).
func podSpec(t *testing.T, objs objects) corev1.PodSpec {
	t.Helper()
	switch d, s := count[appsv1.Deployment](objs), count[appsv1.StatefulSet](objs); {
	case d == 1 && s == 0:
		return only[appsv1.Deployment](t, objs).Spec.Template.Spec
	case d == 0 && s == 1:
		sts := only[appsv1.StatefulSet](t, objs)
		spec := *sts.Spec.Template.Spec.DeepCopy()
		for _, c := range sts.Spec.VolumeClaimTemplates {
			if slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == c.Name }) {
				t.Fatalf("claim template %s has the name of a volume of the pod", c.Name)
			}
			spec.Volumes = append(spec.Volumes, corev1.Volume{Name: c.Name, VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c.Name + "-" + sts.Name + "-0"},
			}})
		}
		return spec
	default:
		t.Fatalf("the build has %d Deployments and %d StatefulSets, want one workload", d, s)
		return corev1.PodSpec{}
	}
}

// claimMounts maps the mount path of each claim template the container mounts to the claim.
func claimMounts(sts *appsv1.StatefulSet, c corev1.Container) map[string]corev1.PersistentVolumeClaim {
	out := map[string]corev1.PersistentVolumeClaim{}
	for _, m := range c.VolumeMounts {
		for _, claim := range sts.Spec.VolumeClaimTemplates {
			if claim.Name == m.Name {
				out[m.MountPath] = claim
			}
		}
	}
	return out
}

// TestSpoolStatefulSet: spool/ is base/ with the Deployment replaced by a StatefulSet whose
// pod is the Deployment's plus the spool's volume (anything else changed in one and not the
// other fails), its pods started and stopped in parallel and their claims kept; the Service,
// headless, governs it; the PodDisruptionBudget selects its pods.
func TestSpoolStatefulSet(t *testing.T) {
	objs, baseObjs := build(t, "spool"), build(t, "base")
	if n := count[appsv1.Deployment](objs); n != 0 {
		t.Errorf("spool/ makes %d Deployments, want none: the StatefulSet replaces base/'s", n)
	}
	checkBaseObjects(t, "spool", objs)
	sts := only[appsv1.StatefulSet](t, objs)
	d := only[appsv1.Deployment](t, baseObjs)
	podLabels := sts.Spec.Template.Labels
	if !selects(t, sts.Spec.Selector, podLabels) {
		t.Errorf("the StatefulSet's selector %v does not select its pods %v", sts.Spec.Selector, podLabels)
	}
	if sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Errorf("podManagementPolicy %q, want Parallel: the pods share the work, none waits for another", sts.Spec.PodManagementPolicy)
	}
	if sts.Spec.UpdateStrategy.Type != "" && sts.Spec.UpdateStrategy.Type != appsv1.RollingUpdateStatefulSetStrategyType {
		t.Errorf("updateStrategy %q, want RollingUpdate", sts.Spec.UpdateStrategy.Type)
	}
	if p := sts.Spec.PersistentVolumeClaimRetentionPolicy; p == nil || p.WhenDeleted != appsv1.RetainPersistentVolumeClaimRetentionPolicyType || p.WhenScaled != appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
		t.Errorf("persistentVolumeClaimRetentionPolicy %+v: want Retain on deletion and scale-down, which keeps what a stopped pod left in its spool", p)
	}
	if !equality.Semantic.DeepEqual(sts.Spec.Replicas, d.Spec.Replicas) {
		t.Errorf("replicas %s, base/'s Deployment %s", ptrString(sts.Spec.Replicas), ptrString(d.Spec.Replicas))
	}

	svc := only[corev1.Service](t, objs)
	if sts.Spec.ServiceName != svc.Name {
		t.Errorf("serviceName %q, want the Service %q", sts.Spec.ServiceName, svc.Name)
	}
	if svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("the Service's clusterIP %q: a StatefulSet's governing Service is headless (None)", svc.Spec.ClusterIP)
	}
	if !selects(t, &metav1.LabelSelector{MatchLabels: svc.Spec.Selector}, podLabels) || !svc.Spec.PublishNotReadyAddresses {
		t.Errorf("the Service (selector %v) must select the pods %v and publish not-ready addresses", svc.Spec.Selector, podLabels)
	}
	if baseSvc := only[corev1.Service](t, baseObjs); !equality.Semantic.DeepEqual(svc.Spec.Ports, baseSvc.Spec.Ports) || svc.Name != baseSvc.Name {
		t.Errorf("the Service %s %+v differs from base/'s %s %+v in more than clusterIP: the ServiceMonitor and the alerts select it", svc.Name, svc.Spec.Ports, baseSvc.Name, baseSvc.Spec.Ports)
	}
	pdb := only[policyv1.PodDisruptionBudget](t, objs)
	if !selects(t, pdb.Spec.Selector, podLabels) {
		t.Errorf("the PodDisruptionBudget's selector %v does not select the pods %v", pdb.Spec.Selector, podLabels)
	}
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("PodDisruptionBudget: want maxUnavailable 1")
	}

	// The pod is base/'s Deployment's, plus the claims' mounts and fsGroupChangePolicy, and
	// with this variant's ConfigMap.
	got := sts.Spec.Template.DeepCopy()
	claims := map[string]bool{}
	for _, c := range sts.Spec.VolumeClaimTemplates {
		claims[c.Name] = true
	}
	for i := range got.Spec.Containers {
		c := &got.Spec.Containers[i]
		c.VolumeMounts = slices.DeleteFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return claims[m.Name] })
	}
	for _, c := range got.Spec.InitContainers {
		if slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return claims[m.Name] }) {
			t.Errorf("init container %s mounts the spool's volume: only the bridge opens the spool", c.Name)
		}
	}
	if psc := got.Spec.SecurityContext; psc == nil || psc.FSGroupChangePolicy == nil || *psc.FSGroupChangePolicy != corev1.FSGroupChangeOnRootMismatch {
		t.Error("pod securityContext: want fsGroupChangePolicy OnRootMismatch (no recursive chown of the spool at every start)")
	} else {
		psc.FSGroupChangePolicy = nil
	}
	cv, baseCV := configVolume(t, got.Spec), configVolume(t, d.Spec.Template.Spec)
	for i := range got.Spec.Volumes {
		if got.Spec.Volumes[i].Name == cv.Name {
			got.Spec.Volumes[i] = baseCV
		}
	}
	if !equality.Semantic.DeepEqual(*got, d.Spec.Template) {
		a, _ := json.MarshalIndent(got, "", " ")
		b, _ := json.MarshalIndent(d.Spec.Template, "", " ")
		t.Errorf("spool/statefulset.yaml's pod differs from base/deployment.yaml's beyond the spool's volume: change both\nstatefulset: %s\ndeployment: %s", a, b)
	}
}

// TestSpoolOnTheVolume: every stream-sea -> Kafka pipeline of spool/'s config has a spool, in a
// directory of its own under the mount of a claim (not the mount itself, where the filesystem
// may keep lost+found), the claim is for one node at a time, and its size holds the max_bytes
// of every spool on it with room to spare. The config is base/'s otherwise.
func TestSpoolOnTheVolume(t *testing.T) {
	objs := build(t, "spool")
	sts := only[appsv1.StatefulSet](t, objs)
	spec := podSpec(t, objs)
	bridge := container(t, spec, bridgeContainer, false)
	cfg, _, fs := containerFiles(t, objs, spec, bridge)
	mounts := claimMounts(sts, bridge)
	if len(mounts) == 0 {
		t.Fatal("the bridge container mounts no claim template's volume")
	}
	spooled := map[string]int64{} // mount path -> the max_bytes of the spools on it
	for _, p := range cfg.Pipelines {
		if p.Source.Type != config.EndpointStreamsea || p.Sink.Type != config.EndpointKafka {
			continue
		}
		if !p.Spool.Enabled() {
			t.Errorf("pipeline %s: stream-sea -> Kafka without [pipelines.spool]", p.Name)
			continue
		}
		found := false
		for mount := range mounts {
			prefix := filepath.Join(fs.root, mount) + string(filepath.Separator)
			if rel, ok := strings.CutPrefix(filepath.Clean(p.Spool.Dir), prefix); ok && rel != "" {
				spooled[mount] += p.Spool.MaxBytes
				found = true
			}
		}
		if !found {
			t.Errorf("pipeline %s: spool.dir %q is not a directory under a claim's mount %v", p.Name, strings.TrimPrefix(p.Spool.Dir, fs.root), mapKeys(mounts))
		}
	}
	if len(spooled) == 0 {
		t.Fatal("spool/'s config spools no pipeline")
	}
	for mount, claim := range mounts {
		for _, m := range claim.Spec.AccessModes {
			if m != corev1.ReadWriteOnce && m != corev1.ReadWriteOncePod {
				t.Errorf("claim %s: access mode %s: a spool is one pod's (ReadWriteOnce or ReadWriteOncePod)", claim.Name, m)
			}
		}
		size := claim.Spec.Resources.Requests.Storage()
		if limit := int64(volumeHeadroom * float64(size.Value())); spooled[mount] > limit {
			t.Errorf("claim %s (%s at %s): the spools on it take up to %d bytes (max_bytes), more than %.0f%% of it (%d): grow the claim or lower max_bytes",
				claim.Name, size, mount, spooled[mount], 100*volumeHeadroom, limit)
		}
		t.Logf("claim %s: %s at %s, spools' max_bytes %d", claim.Name, size, mount, spooled[mount])
	}

	// Apart from the spools, the config is base/'s: the two files do not drift apart.
	baseObjs := build(t, "base")
	baseSpec := podSpec(t, baseObjs)
	baseCfg, _, baseFS := containerFiles(t, baseObjs, baseSpec, container(t, baseSpec, bridgeContainer, false))
	if a, b := configWithoutSpools(t, cfg, fs), configWithoutSpools(t, baseCfg, baseFS); a != b {
		t.Errorf("spool/bridge.toml differs from base/bridge.toml in more than [pipelines.spool]:\nspool: %s\nbase:  %s", a, b)
	}
}

// configWithoutSpools is cfg as JSON with the spools off and the pod's files at their paths
// in the pod.
func configWithoutSpools(t *testing.T, cfg *config.Config, fs podFS) string {
	t.Helper()
	c := *cfg
	c.Pipelines = slices.Clone(cfg.Pipelines)
	for i := range c.Pipelines {
		c.Pipelines[i].Spool = config.DefaultSpool()
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), fs.root, "")
}

func mapKeys[V any](m map[string]V) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkSpoolDirsInPod stops the test before the bridge runs when a spool directory of cfg is
// not under a volume mount of the pod (whose copy is under fs.root): the bridge would create
// it on this machine, and in the pod it would be on the read-only root filesystem.
func checkSpoolDirsInPod(t *testing.T, cfg *config.Config, fs podFS) {
	t.Helper()
	for _, p := range cfg.Pipelines {
		if p.Spool.Enabled() && !strings.HasPrefix(p.Spool.Dir, fs.root+"/") {
			t.Fatalf("pipeline %s: spool.dir %q is in no volume the container mounts", p.Name, p.Spool.Dir)
		}
	}
}

// checkSpoolsOpened waits until the running bridge has opened every spool of cfg: its lock
// file exists in its directory (on the copy of the pod's volume) and the bridge exports its
// max_bytes.
func checkSpoolsOpened(t *testing.T, cfg *config.Config, fs podFS, metricsURL string) {
	t.Helper()
	for _, p := range cfg.Pipelines {
		if !p.Spool.Enabled() {
			continue
		}
		lock := filepath.Join(p.Spool.Dir, "lock")
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, err := os.Stat(lock); err == nil {
				break
			} else if time.Now().After(deadline) {
				t.Errorf("pipeline %s: the bridge did not open its spool within 30s: %v", p.Name, err)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		match := fmt.Sprintf("pipeline=%q", p.Name)
		if got := proctest.MustScrape(t, metricsURL).Sum("seabridge_spool_max_bytes", match); got != float64(p.Spool.MaxBytes) {
			t.Errorf("pipeline %s: seabridge_spool_max_bytes %v, want the config's %d", p.Name, got, p.Spool.MaxBytes)
		}
	}
}

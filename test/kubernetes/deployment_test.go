package kubernetes

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/seabridge/seabridge/internal/config"
	"github.com/seabridge/seabridge/internal/testkit/deploycheck"
)

const (
	metricsPortName = "metrics"
	bridgeContainer = "bridge"
	initContainer   = "validate"
	secretExample   = "deploy/kubernetes/base/secret.example.yaml"
)

// runtimeEnv are the environment variables a container may set besides BRIDGE_* config
// overrides (which the config loader checks): the Go runtime's.
var runtimeEnv = []string{"GOMEMLIMIT", "GOMAXPROCS", "GOGC", "GODEBUG"}

func selects(t *testing.T, sel *metav1.LabelSelector, l map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("selector %v: %v", sel, err)
	}
	return !s.Empty() && s.Matches(labels.Set(l))
}

func container(t *testing.T, spec corev1.PodSpec, name string, init bool) corev1.Container {
	t.Helper()
	list := spec.Containers
	if init {
		list = spec.InitContainers
	}
	for _, c := range list {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("the pod has no container %q (init: %v)", name, init)
	return corev1.Container{}
}

// podFS writes, under a fresh directory, the files a container sees in its volume mounts:
// ConfigMaps as kustomize built them, Secrets with the keys of secret.example.yaml, and an
// empty writable directory for a persistent volume claim. rebase turns a path in the container
// into the path of its copy.
type podFS struct {
	root   string
	mounts []string // mount paths
}

func newPodFS(t *testing.T, objs objects, spec corev1.PodSpec, c corev1.Container) podFS {
	t.Helper()
	fs := podFS{root: t.TempDir()}
	secret := exampleSecret(t)
	for _, m := range c.VolumeMounts {
		i := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
		if i < 0 {
			t.Fatalf("container %s mounts volume %q, which the pod does not have", c.Name, m.Name)
		}
		v := spec.Volumes[i]
		files := map[string]string{}
		switch {
		case v.ConfigMap != nil:
			files = configMap(t, objs, v.ConfigMap.Name).Data
		case v.Secret != nil:
			if v.Secret.SecretName != secret.Name {
				t.Fatalf("volume %s: Secret %q, but %s describes %q", v.Name, v.Secret.SecretName, secretExample, secret.Name)
			}
			files = secret.StringData
		case v.PersistentVolumeClaim != nil:
			// The spool's volume, the one the container writes: it starts empty.
		default:
			t.Fatalf("volume %s: only ConfigMaps, Secrets and persistent volume claims are expected", v.Name)
		}
		if !m.ReadOnly && v.PersistentVolumeClaim == nil {
			t.Errorf("container %s: volume %s is mounted writable", c.Name, m.Name)
		}
		dir := filepath.Join(fs.root, m.MountPath)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		fs.mounts = append(fs.mounts, m.MountPath)
	}
	return fs
}

// rebase rewrites every occurrence of a mount path at the start of a path in s (after a
// quote, or at the start) to the copy's path.
func (fs podFS) rebase(s string) string {
	for _, m := range fs.mounts {
		prefix := strings.TrimSuffix(m, "/") + "/"
		if strings.HasPrefix(s, prefix) {
			s = fs.root + s
		}
		s = strings.ReplaceAll(s, `"`+prefix, `"`+fs.root+prefix)
	}
	return s
}

func configMap(t *testing.T, objs objects, name string) *corev1.ConfigMap {
	t.Helper()
	for _, o := range objs.list {
		if cm, ok := o.(*corev1.ConfigMap); ok && cm.Name == name {
			return cm
		}
	}
	t.Fatalf("no ConfigMap %q in the build", name)
	return nil
}

func exampleSecret(t *testing.T) *corev1.Secret {
	t.Helper()
	obj, err := decodeObject(deploycheck.ReadFile(t, secretExample))
	if err != nil {
		t.Fatalf("%s: %v", secretExample, err)
	}
	s, ok := obj.(*corev1.Secret)
	if !ok || len(s.StringData) == 0 {
		t.Fatalf("%s: want a Secret with stringData", secretExample)
	}
	return s
}

// containerConfig loads the config the container's command line names, from the pod's
// files, with the container's environment, through the real loader.
func containerConfig(t *testing.T, objs objects, spec corev1.PodSpec, c corev1.Container) (*config.Config, map[string]string) {
	t.Helper()
	cfg, flags, _ := containerFiles(t, objs, spec, c)
	return cfg, flags
}

// containerFiles is containerConfig that also returns the pod's files.
func containerFiles(t *testing.T, objs objects, spec corev1.PodSpec, c corev1.Container) (*config.Config, map[string]string, podFS) {
	t.Helper()
	flags, problems := deploycheck.BridgeCommands(t).Check(c.Args)
	if len(problems) > 0 || len(c.Command) > 0 {
		t.Fatalf("container %s: command %q args %q: %v (the image's entrypoint is the bridge)", c.Name, c.Command, c.Args, problems)
	}
	fs := newPodFS(t, objs, spec, c)
	path := fs.rebase(flags["config"])
	if !strings.HasPrefix(path, fs.root) {
		t.Fatalf("container %s: --config %q is not in a mounted volume", c.Name, flags["config"])
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("container %s: --config %q: %v", c.Name, flags["config"], err)
	}
	// The copy reads the other files of the pod at their copies' paths.
	if err := os.WriteFile(path, []byte(fs.rebase(string(text))), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, containerEnv(t, c, fs))
	if err != nil {
		t.Fatalf("container %s: the mounted config with the container's environment: %v", c.Name, err)
	}
	return cfg, flags, fs
}

// containerEnv is the container's environment as KEY=VALUE, paths rebased into the pod's
// files. Values must be literal: secrets come as files, not through the environment.
func containerEnv(t *testing.T, c corev1.Container, fs podFS) []string {
	t.Helper()
	var env []string
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			t.Errorf("container %s: env %s takes its value from %v: mount secrets as files (*_file keys)", c.Name, e.Name, e.ValueFrom)
			continue
		}
		if !strings.HasPrefix(e.Name, "BRIDGE_") && !slices.Contains(runtimeEnv, e.Name) {
			t.Errorf("container %s: env %s is neither a BRIDGE_ config override nor one of %v", c.Name, e.Name, runtimeEnv)
		}
		env = append(env, e.Name+"="+fs.rebase(e.Value))
	}
	if len(c.EnvFrom) > 0 {
		t.Errorf("container %s: envFrom: name each variable", c.Name)
	}
	return env
}

func TestDeployment(t *testing.T) {
	objs := build(t, "base")
	d := only[appsv1.Deployment](t, objs)
	spec := d.Spec.Template.Spec
	if !selects(t, d.Spec.Selector, d.Spec.Template.Labels) {
		t.Errorf("the Deployment's selector %v does not select its pods %v", d.Spec.Selector, d.Spec.Template.Labels)
	}
	if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Errorf("rolling update %+v: want maxUnavailable 0, so that a new pod connects before an old one stops", ru)
	}

	bridge := container(t, spec, bridgeContainer, false)
	cfg, _ := containerConfig(t, objs, spec, bridge)
	if bridge.Args[0] != "run" {
		t.Errorf("container %s runs %q, want run", bridge.Name, bridge.Args)
	}
	host, port, err := net.SplitHostPort(cfg.HTTP.Listen)
	if err != nil || host != "0.0.0.0" {
		t.Errorf("http.listen %q: want 0.0.0.0:PORT, reachable by the kubelet and Prometheus", cfg.HTTP.Listen)
	}
	i := slices.IndexFunc(bridge.Ports, func(p corev1.ContainerPort) bool { return p.Name == metricsPortName })
	if i < 0 || port != strconv.Itoa(int(bridge.Ports[i].ContainerPort)) {
		t.Errorf("container port %q %+v is not http.listen's port %s", metricsPortName, bridge.Ports, port)
	}
	for name, probe := range map[string]*corev1.Probe{"liveness": bridge.LivenessProbe, "readiness": bridge.ReadinessProbe} {
		want := map[string]string{"liveness": "/livez", "readiness": "/readyz"}[name]
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != want || probe.HTTPGet.Port.String() != metricsPortName {
			t.Errorf("%s probe %+v: want GET %s on port %q", name, probe, want, metricsPortName)
		}
	}
	// A stop drains within shutdown_timeout, closes within as long again, and the HTTP server
	// takes up to 5 s (docs/operations.md); 10 s leaves a margin.
	if min := 2*cfg.Bridge.ShutdownTimeout.Seconds() + 10; spec.TerminationGracePeriodSeconds == nil || float64(*spec.TerminationGracePeriodSeconds) < min {
		t.Errorf("terminationGracePeriodSeconds (%s) must be at least 2 × bridge.shutdown_timeout (%v) + 10s = %vs",
			ptrString(spec.TerminationGracePeriodSeconds), cfg.Bridge.ShutdownTimeout, min)
	}
	if text := configMap(t, objs, configVolume(t, spec).ConfigMap.Name).Data["bridge.toml"]; instanceID.MatchString(text) {
		t.Error("bridge.toml sets bridge.instance_id: leave it to default to the hostname, the pod's name")
	}

	validate := container(t, spec, initContainer, true)
	_, flags := containerConfig(t, objs, spec, validate)
	if validate.Args[0] != "validate" || flags["config"] == "" || !slices.Contains(validate.Args, "--connect") {
		t.Errorf("init container %s runs %q, want validate --config FILE --connect", validate.Name, validate.Args)
	}
	if validate.Image != bridge.Image {
		t.Errorf("init container image %q, want the bridge's %q", validate.Image, bridge.Image)
	}
	if !slices.Equal(flagValue(validate.Args, "config"), flagValue(bridge.Args, "config")) {
		t.Errorf("the init container checks %q, the bridge runs %q", validate.Args, bridge.Args)
	}
}

var instanceID = regexp.MustCompile(`(?m)^\s*instance_id\s*=`)

// configVolume is the pod's one ConfigMap volume.
func configVolume(t *testing.T, spec corev1.PodSpec) corev1.Volume {
	t.Helper()
	var found []corev1.Volume
	for _, v := range spec.Volumes {
		if v.ConfigMap != nil {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		t.Fatalf("the pod has %d ConfigMap volumes, want 1", len(found))
	}
	return found[0]
}

func flagValue(args []string, name string) []string {
	var out []string
	for i, a := range args {
		if a == "--"+name && i+1 < len(args) {
			out = append(out, args[i+1])
		} else if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			out = append(out, v)
		}
	}
	return out
}

// TestSecretsAreFiles: the Secret is mounted read-only, every key of secret.example.yaml is a
// file some *_file key of the config reads, and the config holds no secret value itself.
func TestSecretsAreFiles(t *testing.T) {
	objs := build(t, "base")
	spec := only[appsv1.Deployment](t, objs).Spec.Template.Spec
	bridge := container(t, spec, bridgeContainer, false)
	cfg, _ := containerConfig(t, objs, spec, bridge)
	secret := exampleSecret(t)
	var mountPath string
	for _, m := range bridge.VolumeMounts {
		i := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
		if v := spec.Volumes[i]; v.Secret != nil && v.Secret.SecretName == secret.Name {
			mountPath = m.MountPath
		}
	}
	if mountPath == "" {
		t.Fatalf("the bridge container does not mount the Secret %s", secret.Name)
	}
	read := map[string]bool{}
	for _, c := range cfg.Streamsea {
		read[c.ClientSecretFile], read[c.JWTFile], read[c.JWTPrivateKeyFile] = true, true, true
	}
	for _, c := range cfg.Kafka {
		read[c.SASL.PasswordFile] = true
	}
	for key := range secret.StringData {
		found := false
		for path := range read {
			found = found || strings.HasSuffix(path, mountPath+"/"+key)
		}
		if !found {
			t.Errorf("%s: key %s is not read by any *_file key of the config", secretExample, key)
		}
	}
	text := configMap(t, objs, configVolume(t, spec).ConfigMap.Name).Data["bridge.toml"]
	for _, key := range []string{"client_secret =", "password =", "jwt ="} {
		if strings.Contains(text, "\n"+key) {
			t.Errorf("the ConfigMap's bridge.toml sets %s: secrets belong in the Secret", strings.TrimSuffix(key, " ="))
		}
	}
}

// TestPodSecurity: non-root, read-only root filesystem, no privilege escalation, no
// capabilities, no service account token, for every container of every variant.
func TestPodSecurity(t *testing.T) {
	for _, dir := range workloadDirs {
		t.Run(dir, func(t *testing.T) {
			objs := build(t, dir)
			checkPodSecurity(t, objs, podSpec(t, objs))
		})
	}
}

func checkPodSecurity(t *testing.T, objs objects, spec corev1.PodSpec) {
	t.Helper()
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("pod securityContext %+v: want runAsNonRoot and a non-zero runAsUser", psc)
	}
	// The runtime image's user: distroless's nonroot is uid and gid 65532.
	if df := string(deploycheck.ReadFile(t, "Dockerfile")); !strings.Contains(df, "\nUSER nonroot:nonroot\n") {
		t.Error("the Dockerfile no longer runs as distroless's nonroot: revisit runAsUser")
	}
	if psc != nil && (psc.RunAsUser == nil || *psc.RunAsUser != 65532 || psc.RunAsGroup == nil || *psc.RunAsGroup != 65532 || psc.FSGroup == nil || *psc.FSGroup != 65532) {
		t.Errorf("pod securityContext: want runAsUser, runAsGroup and fsGroup 65532, the image's nonroot (fsGroup makes the Secret's files readable)")
	}
	if psc != nil && (psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault) {
		t.Errorf("pod securityContext: want seccompProfile RuntimeDefault")
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("the pod mounts a service account token: the bridge calls no Kubernetes API")
	}
	sa := only[corev1.ServiceAccount](t, objs)
	if spec.ServiceAccountName != sa.Name {
		t.Errorf("serviceAccountName %q, want %q", spec.ServiceAccountName, sa.Name)
	}
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		sc := c.SecurityContext
		switch {
		case sc == nil:
			t.Errorf("container %s: no securityContext", c.Name)
		case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
			t.Errorf("container %s: want readOnlyRootFilesystem", c.Name)
		case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			t.Errorf("container %s: want allowPrivilegeEscalation false", c.Name)
		case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
			t.Errorf("container %s: want capabilities drop [ALL], add none", c.Name)
		}
		if c.Resources.Limits.Memory().IsZero() {
			t.Errorf("container %s: no memory limit", c.Name)
		}
	}
}

// TestServiceAndDisruptionBudget: the Service and the PodDisruptionBudget select the
// Deployment's pods; the Service publishes not-ready pods (their metrics matter most) on the
// metrics port.
func TestServiceAndDisruptionBudget(t *testing.T) {
	objs := build(t, "base")
	d := only[appsv1.Deployment](t, objs)
	podLabels := d.Spec.Template.Labels
	svc := only[corev1.Service](t, objs)
	if !selects(t, &metav1.LabelSelector{MatchLabels: svc.Spec.Selector}, podLabels) {
		t.Errorf("the Service's selector %v does not select the pods %v", svc.Spec.Selector, podLabels)
	}
	if !svc.Spec.PublishNotReadyAddresses {
		t.Error("the Service must publish not-ready addresses, so that a pod with a pipeline down is still scraped")
	}
	bridge := container(t, d.Spec.Template.Spec, bridgeContainer, false)
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != metricsPortName || svc.Spec.Ports[0].TargetPort.String() != metricsPortName {
		t.Errorf("Service ports %+v: want one port %q targeting the container port %q", svc.Spec.Ports, metricsPortName, metricsPortName)
	} else if i := slices.IndexFunc(bridge.Ports, func(p corev1.ContainerPort) bool { return p.Name == metricsPortName }); i < 0 || bridge.Ports[i].ContainerPort != svc.Spec.Ports[0].Port {
		t.Errorf("Service port %d differs from the container's %v", svc.Spec.Ports[0].Port, bridge.Ports)
	}
	pdb := only[policyv1.PodDisruptionBudget](t, objs)
	if !selects(t, pdb.Spec.Selector, podLabels) {
		t.Errorf("the PodDisruptionBudget's selector %v does not select the pods %v", pdb.Spec.Selector, podLabels)
	}
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
		t.Errorf("PodDisruptionBudget: want maxUnavailable 1 (it suits any replica count)")
	}
	if n := count[corev1.Secret](objs); n != 0 {
		t.Errorf("the kustomization makes %d Secrets: users create their own (%s)", n, secretExample)
	}
}

// TestConfigRollsThePods: the config's ConfigMap is generated with a content hash in its
// name, and the Deployment mounts that name, so that a changed config rolls the pods.
func TestConfigRollsThePods(t *testing.T) {
	objs := build(t, "base")
	spec := only[appsv1.Deployment](t, objs).Spec.Template.Spec
	cm := only[corev1.ConfigMap](t, objs)
	if !strings.HasPrefix(cm.Name, "seabridge-config-") {
		t.Errorf("ConfigMap %q: want the generator's hashed name seabridge-config-<hash>", cm.Name)
	}
	if i := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.ConfigMap != nil && v.ConfigMap.Name == cm.Name }); i < 0 {
		t.Errorf("no volume mounts the ConfigMap %s", cm.Name)
	}
	if want := string(deploycheck.ReadFile(t, "deploy/kubernetes/base/bridge.toml")); cm.Data["bridge.toml"] != want {
		t.Error("the ConfigMap's bridge.toml is not deploy/kubernetes/base/bridge.toml")
	}
}

func ptrString[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

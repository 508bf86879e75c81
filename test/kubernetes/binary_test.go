package kubernetes

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/seabridge/seabridge/internal/config"
	"github.com/seabridge/seabridge/internal/testkit/proctest"
)

// serverOverrides points every connection of cfg at an address where nothing listens, so that
// the bridge runs as in the pod without reaching the servers the manifests name.
func serverOverrides(t *testing.T, cfg *config.Config) []string {
	t.Helper()
	closed := proctest.FreeAddr(t)
	var env []string
	for name := range cfg.Streamsea {
		env = append(env, "BRIDGE_STREAMSEA__"+strings.ToUpper(name)+"__URL=https://"+closed)
	}
	for name := range cfg.Kafka {
		env = append(env, "BRIDGE_KAFKA__"+strings.ToUpper(name)+"__BROKERS="+closed)
	}
	return env
}

// TestContainersRunTheBinary runs both containers' command lines with their environment and
// the pod's files (servers unreachable, the metrics port moved to a free one on 127.0.0.1):
// the bridge serves the probe paths and the ServiceMonitor's path, its Go runtime takes
// GOMEMLIMIT, it stops on SIGTERM within terminationGracePeriodSeconds, and the init
// container's validate --connect parses its flags and config and fails on the servers only.
//
// With a spool (spool/), each spool is opened where the config says, on the pod's volume.
func TestContainersRunTheBinary(t *testing.T) {
	for _, dir := range workloadDirs {
		t.Run(dir, func(t *testing.T) { runContainers(t, build(t, dir)) })
	}
}

func runContainers(t *testing.T, objs objects) {
	spec := podSpec(t, objs)
	bridge := container(t, spec, bridgeContainer, false)
	cfg, _, fs := containerFiles(t, objs, spec, bridge)
	checkSpoolDirsInPod(t, cfg, fs)
	listen := proctest.FreeAddr(t)
	env := append(containerEnv(t, bridge, fs), serverOverrides(t, cfg)...)
	env = append(env, "BRIDGE_HTTP__LISTEN="+listen)
	args := make([]string, len(bridge.Args))
	for i, a := range bridge.Args {
		args[i] = fs.rebase(a)
	}
	p := proctest.Start(t, proctest.Options{Args: args, Env: env})
	base := "http://" + listen
	proctest.WaitHTTP(t, base+bridge.LivenessProbe.HTTPGet.Path, 30*time.Second)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	code, body, err := proctest.Get(ctx, base+bridge.ReadinessProbe.HTTPGet.Path)
	if err != nil || code != http.StatusServiceUnavailable || !strings.Contains(body, `"ready":false`) {
		t.Errorf("GET %s with the servers unreachable: %d %q %v, want 503 with a JSON body", bridge.ReadinessProbe.HTTPGet.Path, code, body, err)
	}
	m := proctest.MustScrape(t, base+"/metrics")
	limit := bridge.Resources.Limits.Memory().Value()
	got := m.Sum("go_gc_gomemlimit_bytes")
	if ratio := got / float64(limit); ratio < 0.8 || ratio > 0.95 {
		t.Errorf("the runtime's memory limit is %.0f bytes (GOMEMLIMIT %q), %.0f%% of the container's %d: want 80-95%%", got, envValue(bridge, "GOMEMLIMIT"), 100*ratio, limit)
	}

	checkSpoolsOpened(t, cfg, fs, base+"/metrics")

	grace := time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
	started := time.Now()
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(grace); code != 0 {
		t.Errorf("bridge exited %d after SIGTERM, want 0", code)
	}
	t.Logf("stopped %v after SIGTERM (grace period %v)", time.Since(started).Round(time.Millisecond), grace)

	validate := container(t, spec, initContainer, true)
	vcfg, _, vfs := containerFiles(t, objs, spec, validate)
	vargs := make([]string, len(validate.Args))
	for i, a := range validate.Args {
		vargs[i] = vfs.rebase(a)
	}
	v := proctest.Start(t, proctest.Options{Args: vargs, Env: append(containerEnv(t, validate, vfs), serverOverrides(t, vcfg)...)})
	if code := v.Wait(time.Minute); code != 1 {
		t.Errorf("validate --connect against unreachable servers exited %d, want 1 (2 would be a usage or config error)\n%s%s", code, v.Stdout(), v.Stderr())
	}
	if want := fmt.Sprintf("valid (%d pipelines", len(vcfg.Pipelines)); !strings.Contains(v.Stdout(), want) || !strings.Contains(v.Stdout(), "FAIL") {
		t.Errorf("validate output lacks %q and FAIL lines:\n%s", want, v.Stdout())
	}
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

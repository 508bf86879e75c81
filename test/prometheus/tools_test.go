package prometheus

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seabridge/seabridge/internal/testkit/deploycheck"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// tool returns the path of a binary of Debian's prometheus package: $ENV if set, else name on
// PATH. The test fails, saying what to install, when there is none.
func tool(t *testing.T, env, name string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: install Debian's prometheus package (apt-get install prometheus; scripts/test.sh deploy does it), or set %s", name, env)
	}
	return p
}

// promtool runs promtool with args in dir and returns its combined output; the test fails
// when it exits non-zero.
func promtool(t *testing.T, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool(t, "PROMTOOL", "promtool"), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestPromtoolCheckConfig(t *testing.T) {
	out := promtool(t, deploycheck.RepoPath(t, "deploy/prometheus"), "check", "config", "prometheus.yml")
	if !strings.Contains(out, "alerts.yml") {
		t.Errorf("promtool check config did not check alerts.yml:\n%s", out)
	}
}

func TestPromtoolCheckRules(t *testing.T) {
	promtool(t, deploycheck.RepoPath(t, "deploy/prometheus"), "check", "rules", "alerts.yml")
}

// TestPromtoolTestRules runs the alerts' unit tests (alerts_test.yml).
func TestPromtoolTestRules(t *testing.T) {
	out := promtool(t, deploycheck.RepoPath(t, "deploy/prometheus"), "test", "rules", "alerts_test.yml")
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool test rules:\n%s", out)
	}
}

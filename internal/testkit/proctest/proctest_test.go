package proctest

import (
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestVersionExitsZero(t *testing.T) {
	p := Start(t, Options{Args: []string{"version"}})
	if code := p.Wait(30 * time.Second); code != 0 {
		t.Fatalf("bridge version exited %d, want 0", code)
	}
	if !strings.HasPrefix(p.Stdout(), "seabridge ") {
		t.Fatalf("stdout = %q, want it to start with \"seabridge \"", p.Stdout())
	}
}

func TestInvalidConfigExitsTwo(t *testing.T) {
	path := WriteFile(t, "bridge.toml", "[bridge]\nshutdown_timout = \"1s\"\n")
	p := Start(t, Options{Args: []string{"validate", "--config", path}})
	if code := p.Wait(30 * time.Second); code != 2 {
		t.Fatalf("validate exited %d, want 2", code)
	}
	if !strings.Contains(p.Stderr(), "shutdown_timout") {
		t.Fatalf("stderr does not name the unknown key:\n%s", p.Stderr())
	}
}

func TestEmulatorProcessServesAndStopsOnSIGTERM(t *testing.T) {
	e := StartEmulator(t)
	e.Signal(syscall.SIGTERM)
	if code := e.Wait(15 * time.Second); code != 0 {
		t.Fatalf("emulator exited %d after SIGTERM, want 0", code)
	}
	e.WaitStderr(regexp.MustCompile(`stream-sea emulator stopping`), time.Second)
}

func TestParseMetricsAndSum(t *testing.T) {
	m, err := ParseMetrics(`# TYPE x_total counter
x_total{pipeline="a",result="ok"} 3
x_total{pipeline="b",result="ok"} 4
# TYPE g gauge
g 1.5
`)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Sum("x_total"); got != 7 {
		t.Errorf("Sum(x_total) = %v, want 7", got)
	}
	if got := m.Sum("x_total", `pipeline="a"`); got != 3 {
		t.Errorf("Sum(x_total, pipeline=a) = %v, want 3", got)
	}
	if !m.Has("g") || m.Has("nope") {
		t.Errorf("Has: g=%v nope=%v", m.Has("g"), m.Has("nope"))
	}
}

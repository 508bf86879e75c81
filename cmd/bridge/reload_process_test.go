package main

import (
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
	"github.com/seabridge/seabridge/internal/testkit/proctest"
)

// TestSIGHUPReloadsTheConfig runs `bridge run` and sends it SIGHUP after rewriting its file:
// an added pipeline starts, an invalid file is rejected and the bridge runs on, a changed
// http.listen is reported as needing a restart, and the reload counters say so.
func TestSIGHUPReloadsTheConfig(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	kafkatest.CreateTopic(t, brokers, "hup-out", 1)
	kafkatest.CreateTopic(t, brokers, "hup-in", 1)
	emu := proctest.StartEmulator(t)
	addr := proctest.FreeAddr(t)
	first := bridgeConfig(addr, "10s", emu.URL, brokers, streamSeaToKafka("first", "hup_in", "hup-out"))
	path := proctest.WriteFile(t, "bridge.toml", first)
	p := proctest.Start(t, proctest.Options{Args: []string{"run", "--config", path}})
	proctest.WaitHTTP(t, "http://"+addr+"/readyz", procStart)
	rewrite := func(content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	waitStderr := func(re string, n int) {
		t.Helper()
		deadline := time.Now().Add(procStart)
		for len(regexp.MustCompile(re).FindAllString(p.Stderr(), -1)) < n {
			if p.Exited() || time.Now().After(deadline) {
				t.Fatalf("no %d× %q in stderr (exited: %v):\n%s", n, re, p.Exited(), p.Stderr())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	hup := func(re string, n int) {
		t.Helper()
		p.Signal(syscall.SIGHUP)
		waitStderr(re, n)
	}

	rewrite(first + kafkaToStreamSea("second", "hup-in", "hup-group", "hup_out"))
	hup(`msg="config reloaded" added=\[second\] removed=\[\] changed=\[\] restarted=\[\] unchanged=\[first\]`, 1)
	proctest.WaitHTTP(t, "http://"+addr+"/readyz", procStart)
	var status struct {
		Pipelines []struct{ Name, State string }
	}
	if getJSON(t, "http://"+addr+"/pipelines", &status); len(status.Pipelines) != 2 || status.Pipelines[1].Name != "second" {
		t.Errorf("/pipelines after the reload: %+v", status)
	}

	rewrite(first + "\nnope = 1\n") // a key of the last table, pipelines["first"].dead_letter
	hup(`msg="config reload rejected: the running config stays"`, 1)
	if !strings.Contains(p.Stderr(), "nope") {
		t.Errorf("the rejection does not name the bad key:\n%s", p.Stderr())
	}
	m := proctest.MustScrape(t, "http://"+addr+"/metrics")
	if m.Sum("seabridge_config_reloads_total", `result="success"`) != 1 || m.Sum("seabridge_config_reloads_total", `result="failure"`) != 1 ||
		m.Sum("seabridge_config_last_reload_successful") != 0 {
		t.Errorf("reload metrics: success %v failure %v last successful %v", m.Sum("seabridge_config_reloads_total", `result="success"`),
			m.Sum("seabridge_config_reloads_total", `result="failure"`), m.Sum("seabridge_config_last_reload_successful"))
	}
	if !m.Has("seabridge_pipeline_up") || m.Sum("seabridge_pipeline_up", `pipeline="second"`) != 1 {
		t.Errorf("the pipelines do not run on after a rejected reload")
	}

	// Removing the second pipeline takes its series away; a new http.listen waits for a restart.
	rewrite(strings.Replace(first, addr, proctest.FreeAddr(t), 1))
	hup(`msg="config reloaded" added=\[\] removed=\[second\]`, 1)
	waitStderr(`restart_required=\[http.listen\]`, 1)
	deadline := time.Now().Add(procStart)
	for {
		m = proctest.MustScrape(t, "http://"+addr+"/metrics")
		if !strings.Contains(strings.Join(seriesOf(m, "seabridge_pipeline_up"), " "), `"second"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the removed pipeline still has series: %v", seriesOf(m, "seabridge_pipeline_up"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if m.Sum("seabridge_config_restart_required") != 1 {
		t.Errorf("seabridge_config_restart_required = %v, want 1", m.Sum("seabridge_config_restart_required"))
	}
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(procExit); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0\n%s", code, p.Stderr())
	}
}

// seriesOf lists the series of a metric family.
func seriesOf(m proctest.Metrics, name string) []string {
	var out []string
	for k := range m {
		if strings.HasPrefix(k, name+"{") || k == name {
			out = append(out, k)
		}
	}
	return out
}

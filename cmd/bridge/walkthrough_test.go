package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/testkit/proctest"
)

// walkthroughBlocks returns the sh blocks between <!-- walkthrough --> and
// <!-- /walkthrough --> in README.md, as written.
func walkthroughBlocks(t *testing.T) []string {
	t.Helper()
	readme := readFile(t, "../../README.md")
	_, rest, ok := strings.Cut(readme, "<!-- walkthrough -->")
	body, _, ok2 := strings.Cut(rest, "<!-- /walkthrough -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no <!-- walkthrough --> ... <!-- /walkthrough --> section")
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(body, -1) {
		blocks = append(blocks, m[1])
	}
	return blocks
}

// shell runs README commands with bash, the built binary on PATH as `bridge`, and a home
// of its own (so that `bridge dev` records its servers where only these commands look).
type shell struct {
	t   *testing.T
	env []string
	dir string
}

func newShell(t *testing.T) *shell {
	t.Helper()
	bin := t.TempDir()
	if err := os.Symlink(proctest.Binary(t), filepath.Join(bin, "bridge")); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	return &shell{t: t, dir: t.TempDir(), env: []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + home, "TMPDIR=" + os.TempDir()}}
}

// background is a command left running.
type background struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

// start runs line in the background (in its own process group, stopped with SIGTERM at the
// end of the test) and waits until its output matches ready.
func (s *shell) start(line string, ready *regexp.Regexp) *background {
	s.t.Helper()
	cmd := exec.Command("bash", "-c", "exec "+line)
	cmd.Env, cmd.Dir = s.env, s.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	b := &background{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = b.out, b.out
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		close(b.done)
	}()
	s.t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-b.done:
		case <-time.After(procExit):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-b.done
		}
		if s.t.Failed() {
			s.t.Logf("%s:\n%s", line, b.out.String())
		}
	})
	deadline := time.Now().Add(procStart)
	for !ready.MatchString(b.out.String()) {
		select {
		case <-b.done:
			s.t.Fatalf("%s exited before it was ready:\n%s", line, b.out.String())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s not ready within %v:\n%s", line, procStart, b.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return b
}

// run runs a block as one bash script that stops at the first failing command, and returns
// its output.
func (s *shell) run(block string) string {
	s.t.Helper()
	cmd := exec.Command("bash", "-c", "set -euo pipefail\n"+block)
	cmd.Env, cmd.Dir = s.env, s.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			s.t.Fatalf("%s\nfailed: %v\n%s", block, err, out.String())
		}
	case <-time.After(procStart):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		s.t.Fatalf("%s\ndid not finish within %v:\n%s", block, procStart, out.String())
	}
	return out.String()
}

// TestREADMEWalkthrough runs the README's five-minute walkthrough exactly as written: the
// blocks marked "leave it running" in the background, the others in order, each to success,
// and checks what the reader is told to see.
func TestREADMEWalkthrough(t *testing.T) {
	blocks := walkthroughBlocks(t)
	sh := newShell(t)
	var tails []*background
	var outputs []string
	running := regexp.MustCompile(`^(.*?)\s+# leave it running\s*$`)
	ready := regexp.MustCompile(`every pipeline is ready|tail: subscribed|tail: reading`)
	for _, block := range blocks {
		if m := running.FindStringSubmatch(strings.TrimSpace(block)); m != nil {
			bg := sh.start(m[1], ready)
			if strings.Contains(m[1], "bridge tail") {
				tails = append(tails, bg)
			}
			continue
		}
		outputs = append(outputs, sh.run(block))
	}
	if len(outputs) != 3 || len(tails) != 1 {
		t.Fatalf("the walkthrough has %d blocks to run and %d tails left running; this test checks 3 and 1", len(outputs), len(tails))
	}
	for i, want := range [][]string{
		{`sent 1 message(s) to stream-sea stream "boiler_data"`, `"key":"IMO9000001"`, `"value":{"vesselId":"IMO9000001","temperature":81.5,"pressure":3004}`},
		{"kafka seabridge.dlq partition", "seabridge-error: key: /vesselId: not found", "seabridge-pipeline: boiler-to-kafka", `"temperature": 99.9`},
		{`sent 1 message(s) to kafka topic "vessel.alarms"`, "seabridge-pipeline: alarms-to-streamsea", `"urgent" is not one of`, "seabridge-error: key: /vesselId"},
	} {
		for _, w := range want {
			if !strings.Contains(outputs[i], w) {
				t.Errorf("block %d of the walkthrough: the output lacks %q:\n%s", i+1, w, outputs[i])
			}
		}
	}
	tail := tails[0]
	deadline := time.Now().Add(procStart)
	for !strings.Contains(tail.out.String(), `"severity":"high"`) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := tail.out.String(); !strings.Contains(got, `"severity":"high"`) || strings.Contains(got, "urgent") {
		t.Errorf("the stream-sea tail shows:\n%s\nwant the valid alarm and not the poison one", got)
	}
}

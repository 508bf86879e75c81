// Package proctest runs the bridge binary as a process, the way users run it: built from
// ./cmd/bridge, started with flags, a TOML file and an environment, stopped with a signal,
// judged by its exit code, its stdout and stderr and what its /metrics said.
//
// Binary builds the binary once per test process (go build is cached across processes).
// Every process started with Start is killed, with its process group, through t.Cleanup if
// the test did not wait for it; nothing outlives the test.
package proctest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary returns the path of a bridge binary built from this checkout's ./cmd/bridge. It is
// built once per test process into a directory removed at exit of the process (or left in
// os.TempDir when the process is killed). With SEABRIDGE_PROCTEST_RACE=1 it is built with -race.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := ModuleRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "seabridge-proctest-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "bridge")
		args := []string{"build", "-o", buildPath}
		if os.Getenv("SEABRIDGE_PROCTEST_RACE") == "1" {
			args = append(args, "-race")
		}
		args = append(args, "./cmd/bridge")
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/bridge: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("proctest: %v", buildErr)
	}
	return buildPath
}

// ModuleRoot is the checkout's root: the directory of go.mod above this source file.
func ModuleRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate the proctest source file")
	}
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above %s", file)
		}
		dir = parent
	}
}

// Options describe one process to start.
type Options struct {
	Args []string // the bridge's arguments, e.g. {"run", "--config", path}
	Env  []string // KEY=VALUE added to a minimal environment (PATH, HOME, TMPDIR); nil adds none
	Dir  string   // working directory; default a fresh t.TempDir()
	// Stdin is the process's standard input; nil: none (reads see end of file).
	Stdin io.Reader
}

// Proc is a started bridge process.
type Proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	stdout syncBuffer
	stderr syncBuffer
	done   chan struct{}
	code   int
}

// Start starts the binary with opts. The process runs in its own process group; a cleanup
// kills the group if the test has not waited for the process, and logs its output when the
// test failed.
func Start(t testing.TB, opts Options) *Proc {
	t.Helper()
	bin := Binary(t)
	dir := opts.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	cmd := exec.Command(bin, opts.Args...)
	cmd.Dir = dir
	cmd.Env = append(baseEnv(), opts.Env...)
	cmd.Stdin = opts.Stdin
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &Proc{t: t, cmd: cmd, done: make(chan struct{}), code: -1}
	cmd.Stdout = &p.stdout
	cmd.Stderr = &p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("proctest: start %s %v: %v", bin, opts.Args, err)
	}
	go func() {
		err := cmd.Wait()
		p.code = exitCode(err)
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
		if t.Failed() {
			t.Logf("proctest: bridge %v exited %d\n--- stdout\n%s\n--- stderr\n%s",
				opts.Args, p.code, p.stdout.String(), p.stderr.String())
		}
	})
	return p
}

// baseEnv is the environment every process gets: enough to run, nothing of the test's own
// BRIDGE_* variables.
func baseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "GOCOVERDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return -1
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Logf("proctest: signal %v: %v", sig, err)
	}
}

// Kill sends SIGKILL to the process group and waits for the process to exit.
func (p *Proc) Kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits up to timeout for the process to exit and returns its exit code (128+N when
// killed by signal N). The test fails if the process is still running then.
func (p *Proc) Wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(timeout):
		p.t.Fatalf("proctest: bridge did not exit within %v\n--- stderr\n%s", timeout, p.stderr.String())
		return -1
	}
}

// Stdout is everything the process wrote to stdout so far.
func (p *Proc) Stdout() string { return p.stdout.String() }

// Stderr is everything the process wrote to stderr so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

// WaitStderr waits up to timeout for stderr to match re and returns the first match. The
// test fails when it does not match in time or the process exits first without matching.
func (p *Proc) WaitStderr(re *regexp.Regexp, timeout time.Duration) string {
	p.t.Helper()
	return p.waitOutput(&p.stderr, "stderr", re, timeout)
}

// WaitStdout is WaitStderr for stdout.
func (p *Proc) WaitStdout(re *regexp.Regexp, timeout time.Duration) string {
	p.t.Helper()
	return p.waitOutput(&p.stdout, "stdout", re, timeout)
}

func (p *Proc) waitOutput(b *syncBuffer, name string, re *regexp.Regexp, timeout time.Duration) string {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if m := re.FindString(b.String()); m != "" {
			return m
		}
		if p.Exited() {
			if m := re.FindString(b.String()); m != "" {
				return m
			}
			p.t.Fatalf("proctest: bridge exited (%d) before its %s matched %q\n--- %s\n%s", p.code, name, re, name, b.String())
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("proctest: %s did not match %q within %v\n--- %s\n%s", name, re, timeout, name, b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// FreeAddr returns a 127.0.0.1:PORT that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proctest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// WriteFile writes content to name in a fresh temporary directory and returns its path.
// Leading tabs common to every line are not stripped: write TOML as a user would.
func WriteFile(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("proctest: write %s: %v", path, err)
	}
	return path
}

// WaitHTTP waits up to timeout for url to answer 2xx.
func WaitHTTP(t testing.TB, url string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last string
	for ctx.Err() == nil {
		code, body, err := Get(ctx, url)
		if err == nil && code/100 == 2 {
			return
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("%d %s", code, strings.TrimSpace(body))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("proctest: %s did not answer 2xx within %v (last: %s)", url, timeout, last)
}

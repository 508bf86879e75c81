package benchmark

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// procSample is one reading of a process's counters from /proc.
type procSample struct {
	at  time.Time
	cpu time.Duration // user + system CPU time of every thread so far
	hwm int64         // peak resident set size so far (VmHWM), bytes
	rss int64         // resident set size now (VmRSS), bytes
}

// readProc reads the CPU time and memory of process pid from /proc.
func readProc(pid int) (procSample, error) {
	at := time.Now()
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procSample{}, fmt.Errorf("benchmark: read /proc/%d/stat: %w", pid, err)
	}
	cpu, err := parseStatCPU(stat)
	if err != nil {
		return procSample{}, fmt.Errorf("benchmark: /proc/%d/stat: %w", pid, err)
	}
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return procSample{}, fmt.Errorf("benchmark: read /proc/%d/status: %w", pid, err)
	}
	return procSample{at: at, cpu: cpu, hwm: statusBytes(status, "VmHWM:"), rss: statusBytes(status, "VmRSS:")}, nil
}

// parseStatCPU returns utime + stime of a /proc/PID/stat line. The command name (field 2) is
// in parentheses and may contain spaces, so fields are counted after its closing parenthesis.
func parseStatCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("no command name")
	}
	fields := strings.Fields(string(stat[i+1:]))
	// fields[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(fields) < 13 {
		return 0, fmt.Errorf("%d fields after the command name, want at least 13", len(fields))
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// statusBytes returns the "key: N kB" value of /proc/PID/status in bytes, 0 when absent.
func statusBytes(status []byte, key string) int64 {
	for line := range strings.Lines(string(status)) {
		rest, ok := strings.CutPrefix(line, key)
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0
		}
		kb, _ := strconv.ParseInt(f[0], 10, 64)
		return kb * 1024
	}
	return 0
}

// proc is a measured child process: the bridge (bridge run) or a raw client (bridge bench
// --worker). Its stdout lines arrive on lines; the last 8 KiB of its stderr are kept for
// error messages.
type proc struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // stdout lines, for one reader; closed at EOF. A process that writes
	// more than its buffer to stdout must be read from, or it blocks.
	exited chan struct{} // closed once the process has been waited for
	stderr *tail
	err    error // Wait's result, valid after exited
}

// startProc starts bin with args and the environment env.
func startProc(name, bin string, args, env []string) (*proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	p := &proc{name: name, cmd: cmd, lines: make(chan string, 64), exited: make(chan struct{}), stderr: &tail{max: 8 << 10}}
	cmd.Stderr = p.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p.stdin = stdin
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		// Wait closes stdout: call it only once everything written there has been read.
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// pid is the process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// sample reads the process's counters.
func (p *proc) sample() (procSample, error) { return readProc(p.pid()) }

// stop ends the process: it closes its stdin (a worker exits on EOF), sends SIGTERM (the
// bridge shuts down gracefully) and, if it is still running after grace, SIGKILL. It returns
// an error if the process exited unsuccessfully for another reason than these signals.
func (p *proc) stop(grace time.Duration) error {
	_ = p.stdin.Close()
	select {
	case <-p.exited:
		return p.exitError()
	case <-time.After(100 * time.Millisecond):
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("%s: did not stop within %v; killed", p.name, grace)
	}
	return p.exitError()
}

func (p *proc) exitError() error {
	if p.err == nil {
		return nil
	}
	if ee, ok := errors.AsType[*exec.ExitError](p.err); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			return nil
		}
	}
	return fmt.Errorf("%s: %w: %s", p.name, p.err, p.stderr.String())
}

// tail keeps the last max bytes written to it. Safe for concurrent use.
type tail struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}

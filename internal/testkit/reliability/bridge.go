package reliability

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/testkit/proctest"
)

// sampleEvery is how often a running bridge is scraped and its memory read.
const sampleEvery = 250 * time.Millisecond

// Sample is one observation of a running bridge process.
type Sample struct {
	At         time.Time
	RSS        uint64 // bytes, /proc/PID/status VmRSS
	Goroutines int    // go_goroutines from /metrics; -1 when the scrape failed
	OpenFDs    int    // process_open_fds from /metrics; -1 when the scrape failed
}

// Bridge is one bridge instance, run as its own process (`bridge run --config FILE`) and
// restarted as a new process on the same config. Every process of it is a lifetime.
type Bridge struct {
	t          testing.TB
	Name       string
	ConfigPath string
	MetricsURL string // http://127.0.0.1:PORT (the config's http.listen)

	mu    sync.Mutex
	lives []*lifetime
}

// lifetime is one process of a bridge and what was observed of it.
type lifetime struct {
	proc    *proctest.Proc
	started time.Time
	stopped bool          // the harness killed or terminated it
	stop    chan struct{} // closed to end sampling
	done    chan struct{} // closed when sampling ended

	mu      sync.Mutex
	last    proctest.Metrics // the last successful scrape
	maxRSS  uint64           // VmHWM: the peak resident set of the process
	samples []Sample
}

// StartBridge writes cfg as TOML (http.listen set to a free port) and starts a bridge
// process on it. It does not wait for readiness: see WaitReady.
func StartBridge(t testing.TB, name string, cfg *Config) *Bridge {
	t.Helper()
	listen := proctest.FreeAddr(t)
	cfg.Set("http.listen", listen)
	cfg.Set("bridge.instance_id", name)
	b := &Bridge{t: t, Name: name, ConfigPath: cfg.Write(t, name+".toml"), MetricsURL: "http://" + listen}
	b.Start()
	return b
}

// Validate runs `bridge validate --config FILE` on cfg and returns its exit code and stderr.
func Validate(t testing.TB, cfg *Config) (int, string) {
	t.Helper()
	p := proctest.Start(t, proctest.Options{Args: []string{"validate", "--config", cfg.Write(t, "validate.toml")}})
	code := p.Wait(60 * time.Second)
	return code, p.Stderr()
}

// Start starts a new process of the bridge. The previous one must have exited.
func (b *Bridge) Start() {
	b.t.Helper()
	if cur := b.current(); cur != nil && !cur.proc.Exited() {
		b.t.Fatalf("reliability: bridge %s started while its process %d still runs", b.Name, cur.proc.Pid())
	}
	p := proctest.Start(b.t, proctest.Options{Args: []string{"run", "--config", b.ConfigPath}})
	l := &lifetime{proc: p, started: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	b.mu.Lock()
	b.lives = append(b.lives, l)
	b.mu.Unlock()
	go l.sample(b.MetricsURL)
	b.t.Cleanup(l.endSampling)
}

func (b *Bridge) current() *lifetime {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.lives) == 0 {
		return nil
	}
	return b.lives[len(b.lives)-1]
}

// Proc is the current process.
func (b *Bridge) Proc() *proctest.Proc { return b.current().proc }

// WaitReady waits until /readyz answers 200 and fails the test if it does not in time.
func (b *Bridge) WaitReady(timeout time.Duration) {
	b.t.Helper()
	if err := b.waitReady(timeout); err != nil {
		b.t.Fatal(err)
	}
}

// waitReady waits until /readyz answers 200, the process exits, or timeout passes.
func (b *Bridge) waitReady(timeout time.Duration) error {
	l := b.current()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if l.proc.Exited() {
			return fmt.Errorf("%s exited with code %d before it was ready: %s", b.Name, l.proc.Wait(time.Second),
				exitCause(l.proc.Stderr()))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		code, _, err := proctest.Get(ctx, b.MetricsURL+"/readyz")
		cancel()
		if err == nil && code == 200 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %v", b.Name, timeout)
}

// markStopped records that the current process's end is accounted for by the harness.
func (b *Bridge) markStopped() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lives[len(b.lives)-1].stopped = true
}

// Kill ends the current process with SIGKILL and waits for it.
func (b *Bridge) Kill() {
	l := b.current()
	b.markStopped()
	l.proc.Kill()
	l.endSampling()
}

// Terminate sends SIGTERM and waits up to timeout for the exit; it returns the exit code.
// Sampling goes on while the process drains, for as long as /metrics answers.
func (b *Bridge) Terminate(timeout time.Duration) int {
	b.t.Helper()
	l := b.current()
	b.markStopped()
	l.proc.Signal(syscall.SIGTERM)
	code := l.proc.Wait(timeout)
	l.endSampling()
	return code
}

// Restart kills the current process (SIGKILL), waits down and starts a new one; it does not
// wait for readiness (WaitReady), so that a recovery can be measured from the start.
func (b *Bridge) Restart(down time.Duration) {
	b.t.Helper()
	b.Kill()
	time.Sleep(down)
	b.Start()
}

// Metrics scrapes the current process now.
func (b *Bridge) Metrics() (proctest.Metrics, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return proctest.Scrape(ctx, b.MetricsURL+"/metrics")
}

// LastMetrics is the last successful scrape of each lifetime, oldest first (nil where none
// succeeded).
func (b *Bridge) LastMetrics() []proctest.Metrics {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]proctest.Metrics, len(b.lives))
	for i, l := range b.lives {
		l.mu.Lock()
		out[i] = l.last
		l.mu.Unlock()
	}
	return out
}

// MaxRSS is the peak resident set of every lifetime (VmHWM), in bytes.
func (b *Bridge) MaxRSS() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	var m uint64
	for _, l := range b.lives {
		l.mu.Lock()
		m = max(m, l.maxRSS)
		l.mu.Unlock()
	}
	return m
}

// Samples is every sample of every lifetime, in time order.
func (b *Bridge) Samples() []Sample {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Sample
	for _, l := range b.lives {
		l.mu.Lock()
		out = append(out, l.samples...)
		l.mu.Unlock()
	}
	return out
}

// Stderr is the stderr of every lifetime, oldest first.
func (b *Bridge) Stderr() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]string, len(b.lives))
	for i, l := range b.lives {
		out[i] = l.proc.Stderr()
	}
	return out
}

// unexpectedExits describes every process of the bridge that exited without being asked to.
func (b *Bridge) unexpectedExits() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for i, l := range b.lives {
		if l.stopped || !l.proc.Exited() {
			continue
		}
		code := l.proc.Wait(time.Second)
		out = append(out, fmt.Sprintf("%s (process %d of it) exited by itself with code %d: %s", b.Name, i+1, code,
			exitCause(l.proc.Stderr())))
	}
	return out
}

// exitCause is the line of a process's stderr that best says why it exited: its panic, else
// its last line; cut at 300 bytes.
func exitCause(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	line := lines[len(lines)-1]
	for _, l := range lines {
		if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") {
			line = l
			break
		}
	}
	if len(line) > 300 {
		line = line[:300] + "..."
	}
	return line
}

// Lifetimes is the number of processes started.
func (b *Bridge) Lifetimes() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.lives)
}

func (l *lifetime) endSampling() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
}

// sample scrapes url and reads /proc every sampleEvery until the process exits or sampling
// is ended. It never fails the test: a failed scrape is a sample with Goroutines and OpenFDs -1.
func (l *lifetime) sample(url string) {
	defer close(l.done)
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	for {
		l.sampleOnce(url)
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
		if l.proc.Exited() {
			return
		}
	}
}

func (l *lifetime) sampleOnce(url string) {
	rss, hwm, ok := procMemory(l.proc.Pid())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	m, err := proctest.Scrape(ctx, url+"/metrics")
	cancel()
	if !ok {
		return // the process is gone
	}
	s := Sample{At: time.Now(), RSS: rss, Goroutines: -1, OpenFDs: -1}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil {
		l.last = m
		if g, ok := m["go_goroutines"]; ok {
			s.Goroutines = int(g)
		}
		if f, ok := m["process_open_fds"]; ok {
			s.OpenFDs = int(f)
		}
	}
	l.maxRSS = max(l.maxRSS, hwm)
	l.samples = append(l.samples, s)
}

// procMemory reads VmRSS and VmHWM (bytes) of a process from /proc.
func procMemory(pid int) (rss, hwm uint64, ok bool) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, found := strings.Cut(sc.Text(), ":")
		if !found || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			continue
		}
		if k == "VmRSS" {
			rss = n << 10
		} else {
			hwm = n << 10
		}
	}
	return rss, hwm, rss > 0 || hwm > 0
}

// lossPatterns find, in the bridge's log, counts of messages it gave up on; each yields the
// kind (nacked or undelivered) and a number. A line with a non-zero count is a loss line.
var lossPatterns = []struct {
	kind string
	re   *regexp.Regexp
}{
	{"nacked", regexp.MustCompile(`\bnacked[a-z_]*=(\d+)`)},
	{"nacked", regexp.MustCompile(`(\d+) message\(s\) nacked`)},
	{"undelivered", regexp.MustCompile(`\bundelivered[a-z_]*=(\d+)`)},
	{"undelivered", regexp.MustCompile(`not delivered.*\bunacked=(\d+)`)},
	{"undelivered", regexp.MustCompile(`not delivered.*\bbuffered=(\d+)`)},
	// A spool's drops and damage (counted in Setup.LossMetrics): they only mark a loss line.
	{"spool", regexp.MustCompile(`\brecords_dropped=(\d+)`)},
	{"spool", regexp.MustCompile(`\bdropped_while_full=(\d+)`)},
	{"spool", regexp.MustCompile(`\brecords_lost=(\d+)`)},
}

// logLosses returns the largest count of each kind that the log names, and whether any
// line named a count above zero.
func logLosses(stderr string) (nacked, undelivered int, logged bool) {
	var unackedBuffered int
	for _, line := range strings.Split(stderr, "\n") {
		lineUndelivered := 0
		for _, p := range lossPatterns {
			for _, m := range p.re.FindAllStringSubmatch(line, -1) {
				n, _ := strconv.Atoi(m[1])
				if n == 0 {
					continue
				}
				logged = true
				switch p.kind {
				case "nacked":
					nacked = max(nacked, n)
				case "undelivered":
					lineUndelivered += n
				}
			}
		}
		unackedBuffered = max(unackedBuffered, lineUndelivered)
	}
	return nacked, unackedBuffered, logged
}

// linesOf keeps the log lines of one pipeline, and those that name no pipeline (the bridge's
// own, such as its exit line).
func linesOf(stderr, pipeline string) string {
	var keep []string
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.Contains(line, "pipeline=") || strings.Contains(line, "pipeline="+pipeline+" ") ||
			strings.HasSuffix(line, "pipeline="+pipeline) || strings.Contains(line, `"pipeline":"`+pipeline+`"`) {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// Counts sums what every lifetime of the bridge counted as given up on in one pipeline: the nacked and
// undelivered counters of its last scrape, or, when larger, the counts its log lines name
// (a process's last scrape can predate its last moments), and the other counters named, from
// the last scrape. Logged is true when a log line names a loss.
func (b *Bridge) Counts(pipeline string, other ...string) BridgeCounts {
	var out BridgeCounts
	scrapes := b.LastMetrics()
	label := fmt.Sprintf("pipeline=%q", pipeline)
	for i, stderr := range b.Stderr() {
		var nacked, undelivered int
		if m := scrapes[i]; m != nil {
			nacked = int(m.Sum("seabridge_pipeline_messages_nacked_total", label))
			undelivered = int(m.Sum("seabridge_streamsea_undelivered_messages_total", label))
			for _, name := range other {
				out.Other += int(m.Sum(name, label))
			}
		}
		logNacked, logUndelivered, logged := logLosses(linesOf(stderr, pipeline))
		out.Logged = out.Logged || logged
		out.Nacked += max(nacked, logNacked)
		out.Undelivered += max(undelivered, logUndelivered)
	}
	return out
}

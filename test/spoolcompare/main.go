// Command spoolcompare measures candidate stores for the stream-sea spool side by side:
// seabridge's own segment format (internal/spool), tidwall/wal, go.etcd.io/bbolt and
// cockroachdb/pebble. For each fsync policy it appends records of --size bytes paced at
// --rate per second for --seconds (each append takes what is due, as a websocket reader
// drains its buffer), while a consumer reads them in order and acknowledges them, and
// acknowledged records are deleted every 100 ms. It prints the achieved rate, append latency
// (each Append call, which takes every record due), CPU, and, for each store, what it
// does on reopening a file with a torn tail or overwritten bytes.
//
// It is a module of its own so that the candidates stay out of the bridge's go.mod:
//
//	cd test/spoolcompare && go run . [--rate 100000] [--seconds 3] [--size 256] [--dir DIR]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type candidate struct {
	name string
	open func(dir string, p fsyncPolicy) (store, error)
	// dataFile picks the file of dir that the damage experiment hits.
	dataFile func(dir string) string
}

var candidates = []candidate{
	{"seabridge spool", openOwn, lastMatching("*.seg")},
	{"tidwall/wal v1.2.1", openTidwall, lastMatching("[0-9]*")},
	{"bbolt v1.5.0", openBbolt, lastMatching("spool.db")},
	{"pebble v2.1.7", openPebble, lastMatching("*.log")},
}

func main() {
	rate := flag.Int("rate", 100000, "records a second to append")
	seconds := flag.Float64("seconds", 3, "seconds to append for, per run")
	size := flag.Int("size", 256, "bytes a record")
	dir := flag.String("dir", "", "directory for the stores (default a temporary one under $TMPDIR)")
	only := flag.String("only", "", "run only the candidates whose name contains this")
	childSpec := flag.String("child", "", "internal: run one damage experiment, \"candidate|mode\"")
	flag.Parse()
	if *childSpec != "" {
		child(*childSpec, *dir, *size)
		return
	}
	root := *dir
	if root == "" {
		var err error
		if root, err = os.MkdirTemp("", "spoolcompare"); err != nil {
			fail(err)
		}
		defer os.RemoveAll(root)
	}
	total := int(float64(*rate) * *seconds)
	fmt.Printf("%d records of %d bytes at %d/s (%.1f s) per run; one producer, one consumer acking in order; %s\n\n",
		total, *size, *rate, *seconds, machine())
	fmt.Println("| store | fsync | achieved msg/s | records per append | append call p50 | p99 | max | CPU (cores) | CPU µs/msg | max msg/s, 1 record a call |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, c := range candidates {
		if !strings.Contains(c.name, *only) {
			continue
		}
		for _, p := range []fsyncPolicy{always, interval, never} {
			r, err := paced(c, filepath.Join(root, "paced"), p, *rate, total, *size)
			if err != nil {
				fmt.Printf("| %s | %s | error: %v |\n", c.name, p, err)
				continue
			}
			maxRate, err := unpaced(c, filepath.Join(root, "unpaced"), p, *size, 1500*time.Millisecond)
			if err != nil {
				fail(err)
			}
			fmt.Printf("| %s | %s | %.0f | %.1f | %s | %s | %s | %.2f | %.1f | %.0f |\n", c.name, p, r.rate, r.batch,
				dur(r.p50), dur(r.p99), dur(r.max), r.cores, r.cpuPerMsg, maxRate)
		}
	}
	fmt.Printf("\nAn outage: %d records appended with nobody reading (fsync interval), then closed and reopened:\n\n", total)
	fmt.Println("| store | heap the open store holds with them | reopen | reopen and read them all | disk |")
	fmt.Println("|---|---|---|---|---|")
	for _, c := range candidates {
		if !strings.Contains(c.name, *only) {
			continue
		}
		o, err := outage(c, filepath.Join(root, "outage"), total, *size)
		if err != nil {
			fmt.Printf("| %s | error: %v |\n", c.name, err)
			continue
		}
		fmt.Printf("| %s | %.1f MiB | %s | %s | %.0f MiB |\n", c.name, float64(o.heap)/(1<<20), dur(o.open), dur(o.readAll), float64(o.disk)/(1<<20))
	}
	fmt.Println("\nOn reopening after damage to the newest data file (1000 records written and closed):")
	fmt.Println("\n| store | torn tail (last 5 bytes cut) | 16 bytes overwritten mid-file |")
	fmt.Println("|---|---|---|")
	for _, c := range candidates {
		if strings.Contains(c.name, *only) {
			fmt.Printf("| %s | %s | %s |\n", c.name, damageChild(c, root, "torn", *size), damageChild(c, root, "overwrite", *size))
		}
	}
}

// damageChild runs one damage experiment in a child process, since a store may crash the
// process on a damaged file.
func damageChild(c candidate, root, mode string, size int) string {
	self, err := os.Executable()
	if err != nil {
		fail(err)
	}
	cmd := exec.Command(self, "-child", c.name+"|"+mode, "-dir", root, "-size", strconv.Itoa(size))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if i := strings.Index(stderr.String(), "panic: "); i >= 0 {
			return "**crashes the process** (" + firstLine(stderr.String()[i:]) + ")"
		}
		return fmt.Sprintf("child failed: %v %s", err, firstLine(stderr.String()))
	}
	return strings.TrimSpace(stdout.String())
}

// child runs the damage experiment named "candidate|mode" and prints its outcome.
func child(spec, root string, size int) {
	name, mode, _ := strings.Cut(spec, "|")
	i := slices.IndexFunc(candidates, func(c candidate) bool { return c.name == name })
	if i < 0 {
		fail(fmt.Errorf("no candidate %q", name))
	}
	damage := func(f string) error {
		st, err := os.Stat(f)
		if err != nil {
			return err
		}
		if mode == "torn" {
			return os.Truncate(f, st.Size()-5)
		}
		fh, err := os.OpenFile(f, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer fh.Close()
		_, err = fh.WriteAt(bytes.Repeat([]byte{0xA5}, 16), st.Size()/2)
		return err
	}
	fmt.Println(damageRun(candidates[i], filepath.Join(root, "damage-"+mode), size, damage))
}

type result struct {
	rate, cores, cpuPerMsg float64
	batch                  float64 // records per Append call
	p50, p99, max          time.Duration
}

// payload is record id's data: its id, then letters that depend on it and do not compress
// much (like JSON values).
func payload(id, size int) []byte {
	b := fmt.Appendf(make([]byte, 0, size), "%010d", id)
	x := uint32(id)*2654435761 + 1
	for len(b) < size {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b = append(b, 'a'+byte(x%26))
	}
	return b[:size]
}

// paced appends total records at rate while a consumer reads and acks them.
func paced(c candidate, dir string, p fsyncPolicy, rate, total, size int) (result, error) {
	os.RemoveAll(dir)
	st, err := c.open(dir, p)
	if err != nil {
		return result{}, err
	}
	defer func() { st.Close(); os.RemoveAll(dir) }()
	records := make([][]byte, total)
	for i := range records {
		records[i] = payload(i, size)
	}
	var lat []time.Duration // each Append call's duration
	consumed := consume(st, total)
	cpu0 := cpuTime()
	start := time.Now()
	for sent := 0; sent < total; {
		due := min(int(float64(time.Since(start))*float64(rate)/1e9)+1, total)
		if due <= sent {
			time.Sleep(20 * time.Microsecond)
			continue
		}
		n := min(due-sent, 1000)
		t := time.Now()
		if err := st.Append(records[sent : sent+n]); err != nil {
			return result{}, err
		}
		lat = append(lat, time.Since(t))
		sent += n
	}
	elapsed := time.Since(start)
	if err := <-consumed; err != nil {
		return result{}, err
	}
	cpu := cpuTime() - cpu0
	slices.Sort(lat)
	return result{
		rate:      float64(total) / elapsed.Seconds(),
		cores:     cpu.Seconds() / time.Since(start).Seconds(),
		cpuPerMsg: float64(cpu.Microseconds()) / float64(total),
		p50:       lat[len(lat)/2], p99: lat[len(lat)*99/100], max: lat[len(lat)-1],
		batch: float64(total) / float64(len(lat)),
	}, nil
}

type outageResult struct {
	heap, disk    int64
	open, readAll time.Duration
}

// outage appends total records nobody reads, measures the heap they hold, then reopens the
// store and reads them all.
func outage(c candidate, dir string, total, size int) (outageResult, error) {
	os.RemoveAll(dir)
	defer os.RemoveAll(dir)
	st, err := c.open(dir, interval)
	if err != nil {
		return outageResult{}, err
	}
	batch := make([][]byte, 0, 100)
	for i := 0; i < total; i += len(batch) {
		batch = batch[:0]
		for j := i; j < min(i+100, total); j++ {
			batch = append(batch, payload(j, size))
		}
		if err := st.Append(batch); err != nil {
			return outageResult{}, err
		}
	}
	var r outageResult
	held := heapInUse()
	if err := st.Close(); err != nil {
		return r, err
	}
	r.heap = held - heapInUse()
	r.disk = dirSize(dir)
	start := time.Now()
	if st, err = c.open(dir, interval); err != nil {
		return r, err
	}
	defer st.Close()
	r.open = time.Since(start)
	if err := <-consume(st, total); err != nil {
		return r, err
	}
	r.readAll = time.Since(start)
	return r, nil
}

func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// unpaced appends one record a call as fast as the store takes them for d.
func unpaced(c candidate, dir string, p fsyncPolicy, size int, d time.Duration) (float64, error) {
	os.RemoveAll(dir)
	st, err := c.open(dir, p)
	if err != nil {
		return 0, err
	}
	defer func() { st.Close(); os.RemoveAll(dir) }()
	rec := [][]byte{payload(0, size)}
	start := time.Now()
	n := 0
	for time.Since(start) < d {
		if err := st.Append(rec); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// consume reads total records in order and acks each; it reports a record out of order.
func consume(st store, total int) chan error {
	done := make(chan error, 1)
	go func() {
		for i := 0; i < total; {
			data, seq, ok, err := st.Next(time.Second)
			if err != nil {
				done <- err
				return
			}
			if !ok {
				continue
			}
			if want := fmt.Sprintf("%010d", i); !bytes.HasPrefix(data, []byte(want)) {
				done <- fmt.Errorf("read %q, want record %s", data[:10], want)
				return
			}
			st.Ack(seq)
			i++
		}
		done <- nil
	}()
	return done
}

// damageRun writes 1000 records, closes the store, damages its newest data file, reopens it
// and says what it then reads.
func damageRun(c candidate, dir string, size int, damage func(string) error) string {
	const n = 1000
	os.RemoveAll(dir)
	defer os.RemoveAll(dir)
	st, err := c.open(dir, never)
	if err != nil {
		return "open: " + err.Error()
	}
	for i := range n {
		if err := st.Append([][]byte{payload(i, size)}); err != nil {
			return "append: " + err.Error()
		}
	}
	if err := st.Close(); err != nil {
		return "close: " + err.Error()
	}
	f := c.dataFile(dir)
	if f == "" {
		return "no data file found"
	}
	if err := damage(f); err != nil {
		return "damage: " + err.Error()
	}
	var st2 store
	var openErr error
	func() {
		defer func() {
			if r := recover(); r != nil {
				openErr = fmt.Errorf("panic: %v", r)
			}
		}()
		st2, openErr = c.open(dir, never)
	}()
	if openErr != nil {
		return fmt.Sprintf("refuses to open (%s)", firstLine(openErr.Error()))
	}
	defer st2.Close()
	intact, garbage := 0, 0
	for {
		data, _, ok, err := st2.Next(200 * time.Millisecond)
		if err != nil {
			return fmt.Sprintf("%d intact, then read error (%s)", intact, firstLine(err.Error()))
		}
		if !ok {
			break
		}
		var id int
		if _, err := fmt.Sscanf(string(data[:min(10, len(data))]), "%010d", &id); err == nil && bytes.Equal(data, payload(id, size)) {
			intact++
		} else {
			garbage++
		}
	}
	s := fmt.Sprintf("opens; %d intact, %d lost", intact, n-intact-garbage)
	if garbage > 0 {
		s += fmt.Sprintf(", **%d damaged records delivered as data**", garbage)
	}
	return s
}

func lastMatching(pattern string) func(string) string {
	return func(dir string) string {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		var files []string
		for _, f := range m {
			if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() && st.Size() > 64 {
				files = append(files, f)
			}
		}
		sort.Strings(files)
		if len(files) == 0 {
			return ""
		}
		return files[len(files)-1]
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func machine() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s, %s", host, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
}

func dur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "spoolcompare:", err)
	os.Exit(1)
}

package spool

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// rig is one spool under test with its own registry.
type rig struct {
	t    *testing.T
	opts Options
	reg  *prometheus.Registry
	m    *Metrics
	s    *Spool
}

func newRig(t *testing.T, opts Options) *rig {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = 64 << 20
	}
	r := &rig{t: t, opts: opts}
	r.open()
	t.Cleanup(func() { r.s.Close() })
	return r
}

// open opens the spool again with fresh metrics (as a restarted process would).
func (r *rig) open() {
	r.t.Helper()
	r.reg = prometheus.NewRegistry()
	r.m = NewMetrics(r.reg)
	s, err := Open(r.opts, quiet, r.m)
	if err != nil {
		r.t.Fatalf("Open: %v", err)
	}
	r.s = s
}

// crash stops the spool the way a SIGKILL would: no sync, no cursor write. The bytes the
// process wrote stay in the files (the operating system has them).
func (r *rig) crash() {
	s := r.s
	s.closeOnce.Do(func() {
		s.stop()
		defer s.appendMu.Unlock()
		s.closeFiles()
	})
}

// restart crashes (or closes) and opens the spool again.
func (r *rig) restart(crash bool) {
	r.t.Helper()
	if crash {
		r.crash()
	} else if err := r.s.Close(); err != nil {
		r.t.Fatalf("Close: %v", err)
	}
	r.open()
}

func (r *rig) append(records ...string) int {
	r.t.Helper()
	data := make([][]byte, len(records))
	for i, s := range records {
		data[i] = []byte(s)
	}
	n, err := r.s.Append(context.Background(), data...)
	if err != nil {
		r.t.Fatalf("Append: %v", err)
	}
	return n
}

// next reads one record, failing the test when none comes within a few seconds.
func (r *rig) next() Record {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rec, err := r.s.Next(ctx)
	if err != nil {
		r.t.Fatalf("Next: %v", err)
	}
	return rec
}

// drain reads until nothing comes for a short while, returning the data read.
func (r *rig) drain(ack bool) []string {
	r.t.Helper()
	var out []string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		rec, err := r.s.Next(ctx)
		cancel()
		if err != nil {
			return out
		}
		out = append(out, string(rec.Data))
		if ack {
			if err := r.s.Ack(rec.Seq); err != nil {
				r.t.Fatalf("Ack(%d): %v", rec.Seq, err)
			}
		}
	}
}

func (r *rig) counter(name string, labels ...string) float64 {
	r.t.Helper()
	switch name {
	case "dropped":
		return testutil.ToFloat64(r.m.dropped.WithLabelValues(r.opts.Name, labels[0]))
	case "corrupt":
		return testutil.ToFloat64(r.m.corrupt.WithLabelValues(r.opts.Name))
	case "corrupt_bytes":
		return testutil.ToFloat64(r.m.corruptBytes.WithLabelValues(r.opts.Name))
	case "appended":
		return testutil.ToFloat64(r.m.appended.WithLabelValues(r.opts.Name))
	}
	r.t.Fatalf("no counter %s", name)
	return 0
}

// segmentFiles lists the segment files of dir, oldest first.
func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segmentSuffix))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	return m
}

func numbered(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("record-%06d", i))
	}
	return out
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

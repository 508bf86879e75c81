package reliability

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// EnvReport names the environment variable with the path of a file to write the table to
// (Markdown), besides stdout.
const EnvReport = "SEABRIDGE_RELIABILITY_REPORT"

// Suite is one run of scenarios: their results, and the Apache Kafka broker they share
// (started on first use, stopped by Close). Short scales counts down for make test.
type Suite struct {
	Short   bool
	started time.Time

	mu      sync.Mutex
	results []Result
	soaks   []SoakResult

	realOnce sync.Once
	real     *RealKafka
	realErr  error
}

// NewSuite makes a suite; short selects the smaller counts of make test.
func NewSuite(short bool) *Suite { return &Suite{Short: short, started: time.Now()} }

// Scale is full, or short in a short run.
func (s *Suite) Scale(full, short int) int {
	if s.Short {
		return short
	}
	return full
}

// RealKafka returns the shared Apache Kafka broker for one test, starting it the first time.
func (s *Suite) RealKafka(t testing.TB) *Kafka {
	t.Helper()
	s.realOnce.Do(func() {
		started := time.Now()
		s.real, s.realErr = StartRealKafka()
		if s.realErr == nil {
			t.Logf("reliability: Apache Kafka started by scripts/kafka.sh in %v", time.Since(started).Round(time.Second))
		}
	})
	if s.realErr != nil {
		t.Fatalf("reliability: Apache Kafka: %v", s.realErr)
	}
	return s.real.Scenario(t)
}

func (s *Suite) add(r Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.results = append(s.results, r)
}

// AddSoak adds a soak's judgement to the report.
func (s *Suite) AddSoak(r SoakResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.soaks = append(s.soaks, r)
}

// Results is every result so far, in the order the scenarios finished.
func (s *Suite) Results() []Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Result(nil), s.results...)
}

// Close stops the shared broker, if one was started.
func (s *Suite) Close() error {
	if s.real != nil {
		return s.real.Stop()
	}
	return nil
}

// Report writes the table to w and, when SEABRIDGE_RELIABILITY_REPORT names a file, there too.
func (s *Suite) Report(w io.Writer) error {
	results := s.Results()
	if len(results) == 0 {
		return nil
	}
	s.write(w)
	path := os.Getenv(EnvReport)
	if path == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	s.write(f)
	return f.Close()
}

func (s *Suite) write(w io.Writer) {
	results := s.Results()
	fmt.Fprintf(w, "\nReliability run of %s (%s, %d scenarios, %s):\n\n",
		s.started.UTC().Format("2006-01-02 15:04 MST"), map[bool]string{true: "short", false: "full"}[s.Short],
		len(results), time.Since(s.started).Round(time.Second))
	WriteTable(w, results)
	s.mu.Lock()
	soaks := append([]SoakResult(nil), s.soaks...)
	s.mu.Unlock()
	for _, r := range soaks {
		fmt.Fprintln(w)
		r.Write(w)
	}
}

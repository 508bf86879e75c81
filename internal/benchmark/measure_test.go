package benchmark

import (
	"slices"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	hundred := make([]int64, 100)
	for i := range hundred {
		hundred[i] = int64(i + 1) // 1..100
	}
	tests := []struct {
		name   string
		sorted []int64
		p      float64
		want   int64
	}{
		{"one sample, median", []int64{7}, 50, 7},
		{"one sample, p99", []int64{7}, 99, 7},
		{"two samples, median is the lower", []int64{1, 2}, 50, 1},
		{"two samples, p51 is the upper", []int64{1, 2}, 51, 2},
		{"1..100 p50", hundred, 50, 50},
		{"1..100 p95", hundred, 95, 95},
		{"1..100 p99", hundred, 99, 99},
		{"1..100 p100", hundred, 100, 100},
		{"1..100 tiny p is the minimum", hundred, 0.001, 1},
		{"ten samples p95 rounds up", []int64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 95, 100},
		{"ten samples p90", []int64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 90, 90},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("Percentile(%v, %v) = %d, want %d", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarizeSortsAndSummarizes(t *testing.T) {
	samples := []int64{9000, 1000, 5000, 3000, 7000, 2000, 8000, 4000, 6000, 10000}
	got := Summarize(samples)
	want := LatencySummary{Samples: 10, P50: 5 * time.Microsecond, P95: 10 * time.Microsecond, P99: 10 * time.Microsecond, Max: 10 * time.Microsecond}
	if got != want {
		t.Errorf("Summarize = %+v, want %+v", got, want)
	}
	if !slices.IsSorted(samples) {
		t.Errorf("samples not sorted in place: %v", samples)
	}
	if empty := Summarize(nil); empty != (LatencySummary{}) {
		t.Errorf("Summarize(nil) = %+v, want zero", empty)
	}
}

func TestUsageDelta(t *testing.T) {
	at := time.Unix(1000, 0)
	start := usageSample{at: at, cpu: 2 * time.Second, maxRSS: 100, totalAlloc: 1000, mallocs: 10, heapInuse: 500}
	end := usageSample{at: at.Add(3 * time.Second), cpu: 3500 * time.Millisecond, maxRSS: 300, totalAlloc: 5000, mallocs: 50, heapInuse: 200}
	got := start.deltaTo(end, at.Add(2*time.Second))
	want := usageDelta{wall: 2 * time.Second, cpu: 1500 * time.Millisecond, alloc: 4000, mallocs: 40, peakRSS: 300, heapInuse: 200}
	if got != want {
		t.Errorf("deltaTo = %+v, want %+v", got, want)
	}
}

func TestSampleUsageCountsCPUAndAllocations(t *testing.T) {
	before, err := sampleUsage()
	if err != nil {
		t.Fatal(err)
	}
	// Spend CPU and allocate until getrusage's clock (microseconds, often ticked coarser)
	// has moved; bounded in time.
	var keep [][]byte
	deadline := time.Now().Add(5 * time.Second)
	var after usageSample
	for {
		for range 1000 {
			keep = append(keep, make([]byte, 1024))
		}
		keep = keep[len(keep)-10:]
		if after, err = sampleUsage(); err != nil {
			t.Fatal(err)
		}
		if after.cpu > before.cpu || time.Now().After(deadline) {
			break
		}
	}
	d := before.deltaTo(after, after.at)
	if d.cpu <= 0 {
		t.Errorf("cpu delta %v after burning CPU, want > 0", d.cpu)
	}
	if d.alloc < 1024*1000 || d.mallocs < 1000 {
		t.Errorf("alloc delta %d bytes / %d objects, want at least 1024000 / 1000", d.alloc, d.mallocs)
	}
	if after.maxRSS <= 0 {
		t.Errorf("maxRSS %d, want > 0", after.maxRSS)
	}
}

func TestParseCPUModel(t *testing.T) {
	tests := []struct{ in, want string }{
		{"processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\nmodel name\t: other\n", "Intel(R) Xeon(R) Processor"},
		{"processor\t: 0\nCPU implementer\t: 0x41\n", "unknown"},
		{"", "unknown"},
	}
	for _, tt := range tests {
		if got := parseCPUModel([]byte(tt.in)); got != tt.want {
			t.Errorf("parseCPUModel(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

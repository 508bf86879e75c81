package benchmark

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"syscall"
	"time"
)

// LatencySummary is the distribution of end-to-end latencies of one scenario.
type LatencySummary struct {
	Samples int           `json:"samples"`
	P50     time.Duration `json:"p50Ns"`
	P95     time.Duration `json:"p95Ns"`
	P99     time.Duration `json:"p99Ns"`
	Max     time.Duration `json:"maxNs"`
}

// Summarize sorts samples (nanoseconds) in place and returns their nearest-rank percentiles.
// An empty slice gives the zero summary.
func Summarize(samples []int64) LatencySummary {
	if len(samples) == 0 {
		return LatencySummary{}
	}
	slices.Sort(samples)
	return LatencySummary{
		Samples: len(samples),
		P50:     time.Duration(Percentile(samples, 50)),
		P95:     time.Duration(Percentile(samples, 95)),
		P99:     time.Duration(Percentile(samples, 99)),
		Max:     time.Duration(samples[len(samples)-1]),
	}
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100) of sorted, which must be
// sorted ascending and not empty: the smallest value with at least p percent of the samples at
// or below it.
func Percentile(sorted []int64, p float64) int64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// usageSample is the process's resource counters at one instant.
type usageSample struct {
	at         time.Time
	cpu        time.Duration // user + system CPU time of the whole process so far
	maxRSS     int64         // peak resident set size so far, bytes
	totalAlloc uint64        // Go heap bytes allocated so far
	mallocs    uint64        // Go heap objects allocated so far
	heapInuse  uint64        // Go heap bytes in use now
}

// sampleUsage reads getrusage(RUSAGE_SELF) and the Go memory statistics. ReadMemStats stops
// the world briefly: call it at the edges of a measured window only.
func sampleUsage() (usageSample, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return usageSample{}, fmt.Errorf("benchmark: getrusage: %w", err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return usageSample{
		at:         time.Now(),
		cpu:        timeval(ru.Utime) + timeval(ru.Stime),
		maxRSS:     int64(ru.Maxrss) * 1024, // Linux reports kilobytes
		totalAlloc: ms.TotalAlloc,
		mallocs:    ms.Mallocs,
		heapInuse:  ms.HeapInuse,
	}, nil
}

func timeval(tv syscall.Timeval) time.Duration {
	return time.Duration(tv.Sec)*time.Second + time.Duration(tv.Usec)*time.Microsecond
}

// usageDelta is what a measured window cost.
type usageDelta struct {
	wall      time.Duration
	cpu       time.Duration
	alloc     uint64 // Go heap bytes allocated in the window
	mallocs   uint64 // Go heap objects allocated in the window
	peakRSS   int64  // process peak RSS at the window's end (a high-water mark of the whole run)
	heapInuse uint64 // Go heap in use at the window's end
}

// deltaTo returns the cost from s to end; wall time ends at wallEnd (when the last message
// arrived), which may be a little before end was sampled.
func (s usageSample) deltaTo(end usageSample, wallEnd time.Time) usageDelta {
	return usageDelta{
		wall:      wallEnd.Sub(s.at),
		cpu:       end.cpu - s.cpu,
		alloc:     end.totalAlloc - s.totalAlloc,
		mallocs:   end.mallocs - s.mallocs,
		peakRSS:   end.maxRSS,
		heapInuse: end.heapInuse,
	}
}

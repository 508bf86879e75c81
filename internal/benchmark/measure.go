package benchmark

import (
	"math"
	"slices"
	"time"
)

// LatencySummary is the distribution of end-to-end latencies of one scenario.
type LatencySummary struct {
	Samples int           `json:"samples"`
	P50     time.Duration `json:"p50Ns"`
	P99     time.Duration `json:"p99Ns"`
	P999    time.Duration `json:"p999Ns"`
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
		P99:     time.Duration(Percentile(samples, 99)),
		P999:    time.Duration(Percentile(samples, 99.9)),
		Max:     time.Duration(samples[len(samples)-1]),
	}
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100) of sorted, which must be
// sorted ascending and not empty: the smallest value with at least p percent of the samples at
// or below it.
func Percentile(sorted []int64, p float64) int64 {
	// The epsilon keeps a rank that is whole in decimal (99.9% of 1000) from rounding up
	// through a binary fraction.
	rank := int(math.Ceil(p/100*float64(len(sorted)) - 1e-9))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Spread is the median, minimum and maximum of one figure over the rounds of a run.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// spreadOf summarises vs; the median of an even count is the mean of the middle two. No values
// give the zero Spread.
func spreadOf(vs []float64) Spread {
	if len(vs) == 0 {
		return Spread{}
	}
	s := slices.Sorted(slices.Values(vs))
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Spread{Median: m, Min: s[0], Max: s[len(s)-1]}
}

package reliability

import (
	"math"
	"testing"
	"time"
)

func series(n int, f func(i int) float64) ([]time.Time, []float64, time.Time) {
	start := time.Unix(0, 0)
	at, v := make([]time.Time, n), make([]float64, n)
	for i := range n {
		at[i], v[i] = start.Add(time.Duration(i)*time.Second), f(i)
	}
	return at, v, start
}

func TestJudgeFlat(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(i int) float64
		flat bool
	}{
		{"constant", func(int) float64 { return 40 }, true},
		{"noise and spikes", func(i int) float64 {
			if i%17 == 0 {
				return 90 // a fault's spike
			}
			return 40 + 3*math.Sin(float64(i))
		}, true},
		{"grows during warm-up only", func(i int) float64 { return 20 + min(float64(i), 100)/5 }, true},
		{"a cache filled once in the first third", func(i int) float64 {
			if i < 300 {
				return 40
			}
			return 48
		}, true},
		{"a steady leak", func(i int) float64 { return 40 + float64(i)*0.05 }, false},
		{"a step up in the last third", func(i int) float64 {
			if i > 800 {
				return 60
			}
			return 40
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at, v, start := series(1000, tc.f)
			tr := JudgeFlat("RSS", "MiB", at, v, start, 100*time.Second, 0.15, 4)
			if tr.Flat != tc.flat {
				t.Fatalf("flat = %v, want %v: %+v", tr.Flat, tc.flat, tr)
			}
			if !tr.Flat && tr.Why == "" {
				t.Fatal("not flat without a reason")
			}
		})
	}
}

func TestJudgeFlatNeedsSamples(t *testing.T) {
	at, v, start := series(20, func(int) float64 { return 1 })
	if tr := JudgeFlat("g", "", at, v, start, 15*time.Second, 0.1, 1); tr.Flat || tr.Why == "" {
		t.Fatalf("5 samples after warm-up judged %+v, want not flat with a reason", tr)
	}
}

func TestJudgeSoakBuckets(t *testing.T) {
	start := time.Unix(0, 0)
	var samples []Sample
	for i := range 600 {
		samples = append(samples, Sample{At: start.Add(time.Duration(i) * time.Second), RSS: 30 << 20, Goroutines: 50})
	}
	// The idle tail after the run (memory given back, goroutines gone) must not be judged:
	// it would hide a leak behind the drop.
	for i := 600; i < 900; i++ {
		samples = append(samples, Sample{At: start.Add(time.Duration(i) * time.Second), RSS: 10 << 20, Goroutines: 5})
	}
	r := JudgeSoak(samples, start, 10*time.Minute, []string{"cut"})
	if !r.Flat() || len(r.Buckets) != 10 || r.Buckets[9].RSSMiB != 30 || r.Buckets[9].Goroutines != 50 || r.RSS.Last != 30 {
		t.Fatalf("JudgeSoak = %+v", r)
	}
}

// TestJudgeSoakOpenFDs: a bridge whose RSS and goroutines stay flat but that keeps one more
// socket open every 10 s (a connection that outlives its reconnect) is not flat.
func TestJudgeSoakOpenFDs(t *testing.T) {
	start := time.Unix(0, 0)
	var flat, leaking []Sample
	for i := range 600 {
		at := start.Add(time.Duration(i) * time.Second)
		flat = append(flat, Sample{At: at, RSS: 30 << 20, Goroutines: 50, OpenFDs: 34})
		leaking = append(leaking, Sample{At: at, RSS: 30 << 20, Goroutines: 50, OpenFDs: 34 + i/10})
	}
	if r := JudgeSoak(flat, start, 10*time.Minute, nil); !r.Flat() || r.Buckets[9].OpenFDs != 34 {
		t.Fatalf("flat fds judged %+v", r.OpenFDs)
	}
	r := JudgeSoak(leaking, start, 10*time.Minute, nil)
	if r.Flat() || r.OpenFDs.Flat || !r.RSS.Flat || !r.Goroutines.Flat || r.OpenFDs.Why == "" {
		t.Fatalf("6 fds more a minute judged flat: %+v", r.OpenFDs)
	}
}

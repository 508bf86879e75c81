package reliability

import (
	"fmt"
	"io"
	"sort"
	"time"
)

// Trend judges whether one series of a long run stayed flat. After a warm-up, the rest of the
// run is cut into three equal spans of time; the series is flat when the median of the last
// span is at most the median of the second span times (1 + Rel), plus Abs. Medians make the
// judgement blind to the spikes of a fault; comparing the last third with the second (not
// the first) keeps the growth of caches and buffers that fill once, early, from counting
// as a leak, while a steady leak still shows as the difference over a third of the run.
type Trend struct {
	Name          string
	Unit          string
	First, Second float64 // medians of the first and second spans after warm-up
	Last          float64 // median of the last span
	Limit         float64 // Second × (1 + Rel) + Abs
	Samples       int
	Flat          bool
	Why           string // set when not flat
}

// JudgeFlat judges a series of (time, value) samples, in time order, over a run that started
// at start, after warmup.
func JudgeFlat(name, unit string, at []time.Time, v []float64, start time.Time, warmup time.Duration, rel, abs float64) Trend {
	tr := Trend{Name: name, Unit: unit}
	from := start.Add(warmup)
	var ts []time.Time
	var vs []float64
	for i := range at {
		if !at[i].Before(from) {
			ts, vs = append(ts, at[i]), append(vs, v[i])
		}
	}
	tr.Samples = len(vs)
	if len(vs) < 9 {
		tr.Why = fmt.Sprintf("only %d samples after a warm-up of %v", len(vs), warmup)
		return tr
	}
	span := ts[len(ts)-1].Sub(ts[0]) / 3
	var thirds [3][]float64
	for i, t := range ts {
		k := min(int(t.Sub(ts[0])/max(span, 1)), 2)
		thirds[k] = append(thirds[k], vs[i])
	}
	for k, part := range thirds {
		if len(part) < 3 {
			tr.Why = fmt.Sprintf("span %d of 3 has only %d samples", k+1, len(part))
			return tr
		}
	}
	tr.First, tr.Second, tr.Last = median(thirds[0]), median(thirds[1]), median(thirds[2])
	tr.Limit = tr.Second*(1+rel) + abs
	tr.Flat = tr.Last <= tr.Limit
	if !tr.Flat {
		tr.Why = fmt.Sprintf("median of the last third %.1f %s > %.1f %s (the second third's %.1f + %.0f%% + %.0f)",
			tr.Last, unit, tr.Limit, unit, tr.Second, rel*100, abs)
	}
	return tr
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Soak tolerances: RSS may wander by 15% + 4 MiB between the second and last thirds, the
// goroutine count by 10% + 10 (reconnects start and end a few), the open file descriptors by
// 10% + 5 (a socket that outlives its connection, once per Kafka reconnect, is more).
const (
	soakRSSRel, soakRSSAbs             = 0.15, 4
	soakGoroutineRel, soakGoroutineAbs = 0.10, 10
	soakFDRel, soakFDAbs               = 0.10, 5
)

// SoakResult is the judgement of a soak run on one bridge process.
type SoakResult struct {
	Duration   time.Duration
	Warmup     time.Duration
	Faults     []string
	RSS        Trend
	Goroutines Trend
	OpenFDs    Trend
	Buckets    []SoakBucket
}

// SoakBucket is the medians of one slice of the run.
type SoakBucket struct {
	From       time.Duration // since the start
	RSSMiB     float64
	Goroutines float64
	OpenFDs    float64
}

// Flat is the verdict: every series flat.
func (r SoakResult) Flat() bool { return r.RSS.Flat && r.Goroutines.Flat && r.OpenFDs.Flat }

// JudgeSoak judges the samples of a soak that started at start and lasted d: RSS, goroutines
// and open file descriptors, each flat after a warm-up of a sixth of the run (at least 30 s). Samples after
// start+d are ignored.
func JudgeSoak(samples []Sample, start time.Time, d time.Duration, faults []string) SoakResult {
	warmup := max(d/6, 30*time.Second)
	var at, gat, fat []time.Time
	var rss, gor, fds []float64
	end := start.Add(d) // what comes after, the idle tail while the far side settles, is not judged
	for _, s := range samples {
		if s.At.After(end) {
			continue
		}
		at, rss = append(at, s.At), append(rss, float64(s.RSS)/(1<<20))
		if s.Goroutines >= 0 {
			gat, gor = append(gat, s.At), append(gor, float64(s.Goroutines))
		}
		if s.OpenFDs >= 0 {
			fat, fds = append(fat, s.At), append(fds, float64(s.OpenFDs))
		}
	}
	r := SoakResult{Duration: d, Warmup: warmup, Faults: faults,
		RSS:        JudgeFlat("RSS", "MiB", at, rss, start, warmup, soakRSSRel, soakRSSAbs),
		Goroutines: JudgeFlat("goroutines", "", gat, gor, start, warmup, soakGoroutineRel, soakGoroutineAbs),
		OpenFDs:    JudgeFlat("open fds", "", fat, fds, start, warmup, soakFDRel, soakFDAbs)}
	const buckets = 10
	step := max(d/buckets, time.Second)
	for b := range buckets {
		from, to := start.Add(time.Duration(b)*step), start.Add(time.Duration(b+1)*step)
		var rs, gs, fs []float64
		for _, s := range samples {
			if !s.At.Before(from) && s.At.Before(to) {
				rs = append(rs, float64(s.RSS)/(1<<20))
				if s.Goroutines >= 0 {
					gs = append(gs, float64(s.Goroutines))
				}
				if s.OpenFDs >= 0 {
					fs = append(fs, float64(s.OpenFDs))
				}
			}
		}
		if len(rs) == 0 {
			continue
		}
		sb := SoakBucket{From: time.Duration(b) * step, RSSMiB: median(rs)}
		if len(gs) > 0 {
			sb.Goroutines = median(gs)
		}
		if len(fs) > 0 {
			sb.OpenFDs = median(fs)
		}
		r.Buckets = append(r.Buckets, sb)
	}
	return r
}

// Write writes the soak's report: the series over time and the verdict.
func (r SoakResult) Write(w io.Writer) {
	fmt.Fprintf(w, "Soak: %v, both directions, faults every %v (%d faults), warm-up %v.\n\n",
		r.Duration.Round(time.Second), (r.Duration / 10).Round(time.Second), len(r.Faults), r.Warmup.Round(time.Second))
	fmt.Fprintln(w, "| from | RSS (median) | goroutines (median) | open fds (median) |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|")
	for _, b := range r.Buckets {
		fmt.Fprintf(w, "| %v | %.1f MiB | %.0f | %.0f |\n", b.From.Round(time.Second), b.RSSMiB, b.Goroutines, b.OpenFDs)
	}
	fmt.Fprintln(w)
	for _, tr := range []Trend{r.RSS, r.Goroutines, r.OpenFDs} {
		verdict := "flat"
		if !tr.Flat {
			verdict = "NOT FLAT: " + tr.Why
		}
		fmt.Fprintf(w, "- %s: medians of the thirds after warm-up %.1f, %.1f, %.1f %s (limit %.1f, %d samples): %s\n",
			tr.Name, tr.First, tr.Second, tr.Last, tr.Unit, tr.Limit, tr.Samples, verdict)
	}
	if len(r.Faults) > 0 {
		fmt.Fprintf(w, "- faults, in order: %s\n", joinMax(r.Faults, 12))
	}
}

func joinMax(s []string, n int) string {
	out := ""
	for i, x := range s {
		if i == n {
			return out + fmt.Sprintf(", ... (%d more)", len(s)-n)
		}
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

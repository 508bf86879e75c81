package benchmark

import (
	"time"
)

// Result is the measurement of one scenario. Rates and costs are over the measured window:
// from the moment everything was connected until the final reader saw the last message.
type Result struct {
	Scenario  string  `json:"scenario"`
	Includes  string  `json:"includes"` // what ran in the process during the window
	Messages  int64   `json:"messages"` // messages the final reader saw
	Bytes     int64   `json:"bytes"`    // payload bytes the final reader saw
	Seconds   float64 `json:"seconds"`
	MsgPerSec float64 `json:"msgPerSec"`
	MBPerSec  float64 `json:"mbPerSec"` // payload megabytes (10^6) per second
	// Latency is end-to-end (final reader's receive time minus the send time in the payload);
	// nil when the scenario does not measure it.
	Latency              *LatencySummary `json:"latency,omitempty"`
	CPUSeconds           float64         `json:"cpuSeconds"` // process user + system CPU in the window
	CPUPerMessage        time.Duration   `json:"cpuPerMessageNs"`
	AllocBytesPerMessage float64         `json:"allocBytesPerMessage"` // Go heap bytes allocated per message
	AllocsPerMessage     float64         `json:"allocsPerMessage"`
	HeapInUseBytes       uint64          `json:"heapInUseBytes"` // Go heap in use at the window's end
	// PeakRSSBytes is the process's peak RSS so far: a high-water mark over this scenario and
	// every one before it.
	PeakRSSBytes int64 `json:"peakRssBytes"`
	// StartupSeconds, for a scenario whose window opens on the first message, is the time from
	// starting the bridge to that message (connecting, joining the consumer group).
	StartupSeconds float64 `json:"startupSeconds,omitempty"`
	Unstamped      int64   `json:"unstamped,omitempty"` // messages with no readable send time
	Error          string  `json:"error,omitempty"`
}

// OK reports whether the scenario completed.
func (r *Result) OK() bool { return r.Error == "" }

// result turns what the probe saw into a Result; err is the scenario's outcome.
func (p *Probe) result(sc scenario, err error) Result {
	r := Result{Scenario: sc.name, Includes: sc.includes, Messages: p.Received(), Bytes: p.bytes.Load(), Unstamped: p.unstamp.Load()}
	if err != nil {
		r.Error = err.Error()
	}
	if !p.finished {
		if r.Error == "" {
			r.Error = ErrIncomplete.Error()
		}
		return r
	}
	d := p.start.deltaTo(p.end, time.Unix(0, p.endNanos.Load()))
	n := float64(p.want)
	r.Seconds = d.wall.Seconds()
	if r.Seconds > 0 {
		r.MsgPerSec = n / r.Seconds
		r.MBPerSec = float64(r.Bytes) / 1e6 / r.Seconds
	}
	r.CPUSeconds = d.cpu.Seconds()
	r.CPUPerMessage = time.Duration(float64(d.cpu) / n)
	r.AllocBytesPerMessage = float64(d.alloc) / n
	r.AllocsPerMessage = float64(d.mallocs) / n
	r.HeapInUseBytes = d.heapInuse
	r.PeakRSSBytes = d.peakRSS
	if !p.armedAt.IsZero() {
		r.StartupSeconds = p.start.at.Sub(p.armedAt).Seconds()
	}
	if sc.latency {
		s := Summarize(p.latencies())
		r.Latency = &s
	}
	return r
}

package benchmark

import "time"

// Directions of the scenarios.
const (
	KafkaToStreamsea = "kafka-to-streamsea"
	StreamseaToKafka = "streamsea-to-kafka"
)

// Round is one measurement of a throughput scenario. Rates are over the window from the first
// to the last message at the final reader; CPU and memory are the measured process's only.
type Round struct {
	Messages             int64   `json:"messages"`
	Seconds              float64 `json:"seconds"`
	MsgPerSec            float64 `json:"msgPerSec"`
	CPUSeconds           float64 `json:"cpuSeconds"`
	CPUSecondsPerMillion float64 `json:"cpuSecondsPerMillion"`
	PeakRSSBytes         int64   `json:"peakRssBytes"`
	// StartupSeconds is the time from starting the measured process to the first message at
	// the final reader (connecting, joining the consumer group, defining the schema).
	StartupSeconds float64 `json:"startupSeconds"`
	Error          string  `json:"error,omitempty"`
}

// OK reports whether the round completed.
func (r *Round) OK() bool { return r.Error == "" }

// Throughput is a throughput scenario over every round of a run.
type Throughput struct {
	Scenario  string  `json:"scenario"`
	Direction string  `json:"direction"`
	Measured  string  `json:"measured"` // what the measured process is
	Rounds    []Round `json:"rounds"`
	// Medians and extremes over the rounds that completed.
	MsgPerSec            Spread `json:"msgPerSec"`
	CPUSecondsPerMillion Spread `json:"cpuSecondsPerMillion"`
	PeakRSSBytes         Spread `json:"peakRssBytes"`
}

// OK reports whether every round completed.
func (t *Throughput) OK() bool {
	for i := range t.Rounds {
		if !t.Rounds[i].OK() {
			return false
		}
	}
	return len(t.Rounds) > 0
}

// Ratio compares a bridge scenario's msg/s with a raw limit's, round by round (the two ran
// in the same round, one after the other).
type Ratio struct {
	Bridge   string    `json:"bridge"`
	Limit    string    `json:"limit"`
	PerRound []float64 `json:"perRound"`
	Spread
}

// Latency is the end-to-end latency of one direction at one offered load: the load generator
// stamps the send time into each payload as it hands it to its client, the bench process's
// final reader subtracts it from the arrival time.
type Latency struct {
	Scenario  string         `json:"scenario"`
	Direction string         `json:"direction"`
	Rate      int            `json:"offeredMsgPerSec"`
	Seconds   float64        `json:"seconds"`
	Sent      int64          `json:"sent"`
	Received  int64          `json:"received"`
	Latency   LatencySummary `json:"latency"`
	// The bridge process while it carried the load.
	BridgeCPUSecondsPerMillion float64 `json:"bridgeCpuSecondsPerMillion"`
	BridgePeakRSSBytes         int64   `json:"bridgePeakRssBytes"`
	Error                      string  `json:"error,omitempty"`
}

// IdleMemory is the resident memory of a bridge process with idle pipelines.
type IdleMemory struct {
	BaselinePipelines int     `json:"baselinePipelines"`
	BaselineRSSBytes  int64   `json:"baselineRssBytes"`
	Pipelines         int     `json:"pipelines"`
	RSSBytes          int64   `json:"rssBytes"`
	PerPipelineBytes  float64 `json:"perPipelineBytes"`
	Error             string  `json:"error,omitempty"`
}

// Target is one of the project's performance targets and what this run measured for it.
type Target struct {
	Name     string `json:"name"`
	Want     string `json:"want"`
	Got      string `json:"got"`
	Met      bool   `json:"met"`
	Measured bool   `json:"measured"` // false: the run did not include what the target needs
}

// Report is the outcome of one Run.
type Report struct {
	Started    time.Time    `json:"started"`
	Finished   time.Time    `json:"finished"`
	Machine    Machine      `json:"machine"`
	Settings   Settings     `json:"settings"`
	Throughput []Throughput `json:"throughput,omitempty"`
	Ratios     []Ratio      `json:"ratios,omitempty"`
	Latency    []Latency    `json:"latency,omitempty"`
	Idle       *IdleMemory  `json:"idle,omitempty"`
	Targets    []Target     `json:"targets,omitempty"`
}

// OK reports whether every scenario completed.
func (r *Report) OK() bool {
	for i := range r.Throughput {
		if !r.Throughput[i].OK() {
			return false
		}
	}
	for _, l := range r.Latency {
		if l.Error != "" {
			return false
		}
	}
	return r.Idle == nil || r.Idle.Error == ""
}

package benchmark

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strings"
	"time"
)

// Machine describes where the benchmark ran.
type Machine struct {
	CPUModel   string `json:"cpuModel"`
	NumCPU     int    `json:"numCpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"goVersion"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	// Kafka is "kfake (in the bench process)" or the external brokers.
	Kafka string `json:"kafka"`
	// Load averages (1, 5, 15 minutes) when the run started and ended: how busy the machine
	// was with other work.
	LoadAverageStart string `json:"loadAverageStart"`
	LoadAverageEnd   string `json:"loadAverageEnd"`
}

// Settings are the load parameters of the run.
type Settings struct {
	Messages        int      `json:"messages"`
	PayloadBytes    int      `json:"payloadBytes"`
	PayloadFields   int      `json:"payloadFields"`
	Partitions      int      `json:"partitions"`
	Batch           int      `json:"batch"`
	InFlight        int      `json:"inFlight"`
	Rounds          int      `json:"rounds"`
	Rates           []int    `json:"rates"`
	LatencyDuration string   `json:"latencyDuration"`
	IdlePipelines   int      `json:"idlePipelines"`
	Timeout         string   `json:"timeout"`
	Overrides       []string `json:"bridgeConfigOverrides,omitempty"`
}

func machineFacts(o Options) Machine {
	m := Machine{
		CPUModel: cpuModel(), NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		Kafka: "kfake (in the bench process)", LoadAverageStart: loadAverage(),
	}
	if len(o.Kafka) > 0 {
		m.Kafka = strings.Join(o.Kafka, ",")
	}
	return m
}

func settingsOf(o Options) Settings {
	return Settings{
		Messages: o.Messages, PayloadBytes: len(appendPosition(nil, 500_000, time.Now().UnixNano())),
		PayloadFields: PayloadFields, Partitions: o.Partitions, Batch: o.Batch, InFlight: o.InFlight,
		Rounds: o.Rounds, Rates: o.Rates, LatencyDuration: o.LatencyDuration.String(),
		IdlePipelines: o.IdlePipelines, Timeout: o.Timeout.Round(time.Second).String(), Overrides: o.Environ,
	}
}

// loadAverage returns the first three fields of /proc/loadavg, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// cpuModel returns the first "model name" of /proc/cpuinfo, or "unknown".
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	return parseCPUModel(b)
}

func parseCPUModel(cpuinfo []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(cpuinfo))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown"
}

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
	// Kafka is "kfake (in process)" or the external brokers.
	Kafka string `json:"kafka"`
	// KafkaInProcess reports whether the broker's CPU and memory are counted in every figure.
	KafkaInProcess bool `json:"kafkaInProcess"`
}

// Settings are the load parameters every scenario used.
type Settings struct {
	Messages     int      `json:"messages"`
	Size         int      `json:"size"`
	Batch        int      `json:"batch"`
	BatchTimeout string   `json:"batchTimeout"`
	Partitions   int      `json:"partitions"`
	Timeout      string   `json:"timeout"`
	Overrides    []string `json:"bridgeConfigOverrides,omitempty"`
}

func machineFacts(o Options) Machine {
	m := Machine{
		CPUModel: cpuModel(), NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		Kafka: "kfake (in process)", KafkaInProcess: len(o.Kafka) == 0,
	}
	if !m.KafkaInProcess {
		m.Kafka = strings.Join(o.Kafka, ",")
	}
	return m
}

func settingsOf(o Options) Settings {
	return Settings{
		Messages: o.Messages, Size: o.Size, Batch: o.Batch, BatchTimeout: o.BatchTimeout.String(),
		Partitions: o.Partitions, Timeout: o.Timeout.Round(time.Second).String(), Overrides: o.Environ,
	}
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

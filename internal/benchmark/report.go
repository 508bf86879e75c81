package benchmark

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
)

// Report is the outcome of one Run.
type Report struct {
	Started  time.Time `json:"started"`
	Machine  Machine   `json:"machine"`
	Settings Settings  `json:"settings"`
	Results  []Result  `json:"results"`
}

// OK reports whether every scenario completed.
func (r *Report) OK() bool {
	for i := range r.Results {
		if !r.Results[i].OK() {
			return false
		}
	}
	return true
}

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("benchmark: write JSON: %w", err)
	}
	return nil
}

// WriteTable writes the report for people: the machine, the settings, one table row per
// scenario, the bridge's share of the raw ceilings, and what the figures include.
func (r *Report) WriteTable(w io.Writer) error {
	m, s := r.Machine, r.Settings
	fmt.Fprintf(w, "seabridge bench, %s\n", r.Started.Format(time.RFC3339))
	fmt.Fprintf(w, "machine: %s, %d CPUs, GOMAXPROCS %d, %s %s/%s\n", m.CPUModel, m.NumCPU, m.GOMAXPROCS, m.GoVersion, m.OS, m.Arch)
	fmt.Fprintf(w, "kafka:   %s\n", m.Kafka)
	fmt.Fprintf(w, "load:    %d messages of %d bytes per scenario, batches of %d, Kafka producer linger %s, %d partition(s)\n",
		s.Messages, s.Size, s.Batch, s.BatchTimeout, s.Partitions)
	if len(s.Overrides) > 0 {
		fmt.Fprintf(w, "bridge config overrides: %v\n", s.Overrides)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-26s\tmsgs\tsecs\tmsg/s\tMB/s\tp50\tp95\tp99\tmax\tCPU/msg\tB alloc/msg\tallocs/msg\theap in use\tpeak RSS\t\n", "scenario")
	for i := range r.Results {
		writeRow(tw, &r.Results[i])
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("benchmark: write table: %w", err)
	}
	fmt.Fprintln(w)
	for _, res := range r.Results {
		if !res.OK() {
			fmt.Fprintf(w, "%s FAILED after %d messages: %s\n", res.Scenario, res.Messages, res.Error)
		}
	}
	r.writeShares(w)
	r.writeNotes(w)
	return nil
}

func writeRow(w io.Writer, r *Result) {
	if !r.OK() {
		fmt.Fprintf(w, "%-26s\t%d\tFAILED\t\t\t\t\t\t\t\t\t\t\t\t\n", r.Scenario, r.Messages)
		return
	}
	lat := [4]string{"-", "-", "-", "-"}
	if r.Latency != nil {
		lat = [4]string{fmtDur(r.Latency.P50), fmtDur(r.Latency.P95), fmtDur(r.Latency.P99), fmtDur(r.Latency.Max)}
	}
	fmt.Fprintf(w, "%-26s\t%d\t%.2f\t%.0f\t%.1f\t%s\t%s\t%s\t%s\t%s\t%.0f\t%.1f\t%s\t%s\t\n",
		r.Scenario, r.Messages, r.Seconds, r.MsgPerSec, r.MBPerSec, lat[0], lat[1], lat[2], lat[3],
		fmtDur(r.CPUPerMessage), r.AllocBytesPerMessage, r.AllocsPerMessage,
		fmtBytes(int64(r.HeapInUseBytes)), fmtBytes(r.PeakRSSBytes))
}

// writeShares compares each bridge direction with the raw ceilings measured in the same run.
func (r *Report) writeShares(w io.Writer) {
	get := func(name string) *Result {
		for i := range r.Results {
			if r.Results[i].Scenario == name && r.Results[i].OK() {
				return &r.Results[i]
			}
		}
		return nil
	}
	producer, reader := get(RawKafkaProducer), get(RawWebsocketReader)
	// stream-sea -> Kafka is bounded by both sides; Kafka -> stream-sea's publish and
	// websocket side is what raw-websocket-reader measures (its Kafka side is consumption).
	shares := []struct {
		bridge string
		raws   []*Result
	}{
		{BridgeStreamseaToKafka, []*Result{producer, reader}},
		{BridgeKafkaToStreamsea, []*Result{reader}},
	}
	for _, sh := range shares {
		b := get(sh.bridge)
		if b == nil || !slices.ContainsFunc(sh.raws, func(r *Result) bool { return r != nil }) {
			continue
		}
		line := sh.bridge + ":"
		for _, raw := range sh.raws {
			if raw != nil {
				line += fmt.Sprintf(" %.0f%% of %s's msg/s at %.1fx its CPU/msg;", 100*b.MsgPerSec/raw.MsgPerSec, raw.Scenario,
					float64(b.CPUPerMessage)/float64(max(raw.CPUPerMessage, 1)))
			}
		}
		fmt.Fprintln(w, line)
	}
}

func (r *Report) writeNotes(w io.Writer) {
	fmt.Fprintln(w, "\nWhat each scenario runs in this process during its window:")
	for _, res := range r.Results {
		fmt.Fprintf(w, "  %-26s %s\n", res.Scenario, res.Includes)
	}
	fmt.Fprintln(w, "Notes:")
	fmt.Fprintln(w, "  - Window: from everything connected to the final reader seeing the last message. For bridge-kafka-to-streamsea")
	fmt.Fprintln(w, "    it opens at the first message the reader sees; the bridge's startup before it (connect, consumer group join,")
	fmt.Fprint(w, "    schema define) is reported apart")
	for _, res := range r.Results {
		if res.StartupSeconds > 0 {
			fmt.Fprintf(w, "; %s startup: %.2fs", res.Scenario, res.StartupSeconds)
		}
	}
	fmt.Fprintln(w, ".")
	fmt.Fprintln(w, "  - Latency: receive time at the final reader minus the send time stamped into the payload by the load generator.")
	fmt.Fprintln(w, "    bridge-kafka-to-streamsea has none: its messages are produced before the window, so their age measures the backlog.")
	fmt.Fprintln(w, "  - CPU/msg: process user+sys CPU (getrusage) over the window / messages. It counts everything in the process:")
	if r.Machine.KafkaInProcess {
		fmt.Fprintln(w, "    the in-process Kafka broker (kfake), the stream-sea emulator, load generators and readers, in raw and bridge scenarios alike.")
	} else {
		fmt.Fprintf(w, "    the stream-sea emulator, load generators and readers. Kafka (%s) runs out of process: its CPU and memory are NOT counted.\n", r.Machine.Kafka)
	}
	fmt.Fprintln(w, "  - Memory: Go heap bytes and objects allocated per message (runtime.MemStats deltas), heap in use at the window's end,")
	fmt.Fprintln(w, "    and the process's peak RSS so far (getrusage maxrss: a high-water mark over this and every earlier scenario).")
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.1fµs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}

func fmtBytes(b int64) string {
	return fmt.Sprintf("%.1fMiB", float64(b)/(1<<20))
}

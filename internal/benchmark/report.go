package benchmark

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("benchmark: write JSON: %w", err)
	}
	return nil
}

// WriteTable writes the report for people: the machine and load, the throughput of each
// direction beside its raw limits, the ratios, the latency at fixed loads, memory, the
// targets, and what the figures mean.
func (r *Report) WriteTable(w io.Writer) error {
	m, s := r.Machine, r.Settings
	fmt.Fprintf(w, "seabridge bench, %s to %s\n", r.Started.Format(time.RFC3339), r.Finished.Format("15:04:05Z07:00"))
	fmt.Fprintf(w, "machine: %s, %d CPUs, GOMAXPROCS %d, %s %s/%s; load average %s at the start, %s at the end\n",
		m.CPUModel, m.NumCPU, m.GOMAXPROCS, m.GoVersion, m.OS, m.Arch, m.LoadAverageStart, m.LoadAverageEnd)
	fmt.Fprintf(w, "kafka:   %s\n", m.Kafka)
	fmt.Fprintf(w, "load:    %d messages per throughput scenario and round, %d-byte JSON vessel positions (%d fields), %d partitions,\n",
		s.Messages, s.PayloadBytes, s.PayloadFields, s.Partitions)
	fmt.Fprintf(w, "         raw clients in batches of %d, %d publishes in flight; %d interleaved rounds\n", s.Batch, s.InFlight, s.Rounds)
	if len(s.Overrides) > 0 {
		fmt.Fprintf(w, "bridge config overrides: %v\n", s.Overrides)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(r.Throughput) > 0 {
		fmt.Fprintln(w, "\nThroughput at saturation: median [min-max] of the rounds; CPU and peak RSS of the measured process only")
		fmt.Fprintln(tw, "direction\tscenario\tmsg/s\tCPU-s per million\tpeak RSS\tstartup\t")
		for i := range r.Throughput {
			writeThroughput(tw, &r.Throughput[i])
		}
		_ = tw.Flush()
	}
	if len(r.Ratios) > 0 {
		fmt.Fprintln(w, "\nBridge / raw limit, msg/s, round by round: median [min-max]")
		for _, ra := range r.Ratios {
			fmt.Fprintf(tw, "%s / %s\t%s\t\n", ra.Bridge, ra.Limit, ratioText(&ra))
		}
		_ = tw.Flush()
	}
	if len(r.Latency) > 0 {
		fmt.Fprintln(w, "\nLatency at a fixed offered load, end to end (stamped send time to arrival at the far side); the")
		fmt.Fprintln(w, "\"alone\" rows are the load generator and the final reader of one side without the bridge")
		fmt.Fprintln(tw, "direction\toffered msg/s\treceived\tp50\tp99\tp999\tmax\tbridge CPU-s per million\tbridge peak RSS\t")
		for _, l := range r.Latency {
			if l.Error != "" {
				fmt.Fprintf(tw, "%s\t%d\t%d of %d\tFAILED: %s\t\n", l.Direction, l.Rate, l.Received, l.Sent, l.Error)
				continue
			}
			cpu, rss := "-", "-"
			if l.BridgePeakRSSBytes > 0 {
				cpu, rss = fmt.Sprintf("%.2f", l.BridgeCPUSecondsPerMillion), fmtBytes(l.BridgePeakRSSBytes)
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", l.Direction, l.Rate, l.Received,
				fmtDur(l.Latency.P50), fmtDur(l.Latency.P99), fmtDur(l.Latency.P999), fmtDur(l.Latency.Max), cpu, rss)
		}
		_ = tw.Flush()
	}
	if r.Idle != nil {
		fmt.Fprintln(w, "\nMemory of idle pipelines (RSS of the bridge process, half the pipelines each way)")
		if r.Idle.Error != "" {
			fmt.Fprintf(w, "  FAILED: %s\n", r.Idle.Error)
		} else {
			fmt.Fprintf(w, "  %d pipelines: %s; %d pipelines: %s; %.0f KiB per pipeline\n", r.Idle.BaselinePipelines,
				fmtBytes(r.Idle.BaselineRSSBytes), r.Idle.Pipelines, fmtBytes(r.Idle.RSSBytes), r.Idle.PerPipelineBytes/1024)
		}
	}
	if len(r.Targets) > 0 {
		fmt.Fprintln(w, "\nTargets")
		for _, t := range r.Targets {
			verdict := "met"
			switch {
			case !t.Measured:
				verdict = "-"
			case !t.Met:
				verdict = "MISSED"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", t.Name, t.Want, t.Got, verdict)
		}
		_ = tw.Flush()
	}
	r.writeFailures(w)
	r.writeNotes(w)
	return nil
}

func writeThroughput(w io.Writer, t *Throughput) {
	if t.MsgPerSec.Median == 0 {
		fmt.Fprintf(w, "%s\t%s\tFAILED in every round\t\t\t\t\n", t.Direction, t.Scenario)
		return
	}
	var startup []float64
	for _, r := range t.Rounds {
		if r.OK() {
			startup = append(startup, r.StartupSeconds)
		}
	}
	fmt.Fprintf(w, "%s\t%s\t%.0f [%.0f-%.0f]\t%.2f [%.2f-%.2f]\t%s [%s-%s]\t%.2fs\t\n", t.Direction, t.Scenario,
		t.MsgPerSec.Median, t.MsgPerSec.Min, t.MsgPerSec.Max,
		t.CPUSecondsPerMillion.Median, t.CPUSecondsPerMillion.Min, t.CPUSecondsPerMillion.Max,
		fmtBytes(int64(t.PeakRSSBytes.Median)), fmtBytes(int64(t.PeakRSSBytes.Min)), fmtBytes(int64(t.PeakRSSBytes.Max)),
		spreadOf(startup).Median)
}

func (r *Report) writeFailures(w io.Writer) {
	var lines []string
	for _, t := range r.Throughput {
		for i, ro := range t.Rounds {
			if !ro.OK() {
				lines = append(lines, fmt.Sprintf("  %s round %d: %s", t.Scenario, i+1, ro.Error))
			}
		}
	}
	if len(lines) > 0 {
		fmt.Fprintln(w, "\nFailed rounds (left out of the medians)")
		fmt.Fprintln(w, strings.Join(lines, "\n"))
	}
}

func (r *Report) writeNotes(w io.Writer) {
	fmt.Fprintln(w, "\nWhat each throughput scenario measures (each in its own process; the broker, the stream-sea emulator,")
	fmt.Fprintln(w, "the load generators and the final readers run outside it):")
	for _, t := range r.Throughput {
		fmt.Fprintf(w, "  %-26s %s\n", t.Scenario, t.Measured)
	}
	fmt.Fprintln(w, "Notes:")
	fmt.Fprintln(w, "  - msg/s: messages over the window from the first to the last arrival at the final reader; startup (process start")
	fmt.Fprintln(w, "    to the first arrival: connect, consumer group join, schema define) is outside it and shown apart.")
	fmt.Fprintln(w, "  - CPU-s per million: user+system CPU of the measured process over the window (/proc/PID/stat), per 10^6 messages.")
	fmt.Fprintln(w, "  - peak RSS: VmHWM of the measured process (/proc/PID/status) at the window's end.")
	fmt.Fprintln(w, "  - Ratios divide the bridge's msg/s by a raw limit's measured in the same round.")
	fmt.Fprintln(w, "  - Latency: the load generator stamps each payload as it hands it to its client (a produce request per millisecond")
	fmt.Fprintln(w, "    to one partition, or one PublishBatch); the bench process's reader subtracts the stamp from the arrival time.")
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}

func fmtBytes(b int64) string {
	return fmt.Sprintf("%.1fMiB", float64(b)/(1<<20))
}

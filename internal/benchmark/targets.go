package benchmark

import (
	"fmt"
	"time"
)

// The project's performance targets. They are figures this benchmark reports on, never
// assertions of a test: a run that misses one still succeeds.
const (
	targetKafkaToStreamseaRate   = 150_000 // msg/s, bridge-kafka-to-streamsea
	targetKafkaToStreamseaCPU    = 3.0     // CPU-seconds per million messages
	targetRatioToPublisher       = 0.8     // bridge-kafka-to-streamsea / raw-batched-publisher
	targetRatioToWebsocketReader = 0.9     // bridge-streamsea-to-kafka / raw-websocket-reader
	targetRatioSpoolToNoSpool    = 0.8     // bridge-streamsea-to-kafka-spool / bridge-streamsea-to-kafka
	targetLatencyRate            = 10_000  // msg/s offered
	targetLatencyP99             = 10 * time.Millisecond
	targetPeakRSS                = 100 << 20 // bytes, at saturation
	targetIdleRSSPerPipeline     = 1 << 20   // bytes

)

// targets compares what the run measured with the targets.
func targets(r *Report) []Target {
	var out []Target
	tp := func(name string) *Throughput {
		for i := range r.Throughput {
			if r.Throughput[i].Scenario == name && r.Throughput[i].MsgPerSec.Median > 0 {
				return &r.Throughput[i]
			}
		}
		return nil
	}
	ratio := func(bridge, limit string) *Ratio {
		for i := range r.Ratios {
			if r.Ratios[i].Bridge == bridge && r.Ratios[i].Limit == limit && len(r.Ratios[i].PerRound) > 0 {
				return &r.Ratios[i]
			}
		}
		return nil
	}
	add := func(name, want string, measured bool, got string, met bool) {
		if !measured {
			got, met = "not measured in this run", false
		}
		out = append(out, Target{Name: name, Want: want, Got: got, Met: met, Measured: measured})
	}
	k2s, s2k := tp(BridgeKafkaToStreamsea), tp(BridgeStreamseaToKafka)
	add("Kafka -> stream-sea throughput (bridge, defaults)", fmt.Sprintf(">= %d msg/s", targetKafkaToStreamseaRate),
		k2s != nil, k2sRate(k2s), k2s != nil && k2s.MsgPerSec.Median >= targetKafkaToStreamseaRate)
	add("Kafka -> stream-sea CPU (bridge process)", fmt.Sprintf("<= %.0f CPU-s per million", targetKafkaToStreamseaCPU),
		k2s != nil, k2sCPU(k2s), k2s != nil && k2s.CPUSecondsPerMillion.Median <= targetKafkaToStreamseaCPU)
	rp := ratio(BridgeKafkaToStreamsea, RawBatchedPublisher)
	add("Kafka -> stream-sea / bare batched publisher", fmt.Sprintf(">= %.2f", targetRatioToPublisher),
		rp != nil, ratioText(rp), rp != nil && rp.Median >= targetRatioToPublisher)
	rw := ratio(BridgeStreamseaToKafka, RawWebsocketReader)
	add("stream-sea -> Kafka / bare websocket reader", fmt.Sprintf(">= %.2f", targetRatioToWebsocketReader),
		rw != nil, ratioText(rw), rw != nil && rw.Median >= targetRatioToWebsocketReader)
	rs := ratio(BridgeStreamseaToKafkaSpool, BridgeStreamseaToKafka)
	add("stream-sea -> Kafka with a spool / without", fmt.Sprintf(">= %.2f", targetRatioSpoolToNoSpool),
		rs != nil, ratioText(rs), rs != nil && rs.Median >= targetRatioSpoolToNoSpool)
	for _, d := range []struct{ scenario, label string }{
		{LatencyKafkaToStreamsea, "Kafka -> stream-sea"},
		{LatencyStreamseaToKafka, "stream-sea -> Kafka"},
	} {
		var l *Latency
		for i := range r.Latency {
			if r.Latency[i].Scenario == d.scenario && r.Latency[i].Rate == targetLatencyRate && r.Latency[i].Error == "" {
				l = &r.Latency[i]
			}
		}
		got := ""
		if l != nil {
			got = "p99 " + fmtDur(l.Latency.P99) + " (" + r.Machine.Kafka + ")"
		}
		add(fmt.Sprintf("%s latency at %d msg/s offered", d.label, targetLatencyRate), "p99 < "+fmtDur(targetLatencyP99)+" on kfake",
			l != nil, got, l != nil && l.Latency.P99 < targetLatencyP99)
	}
	for _, d := range []struct {
		t     *Throughput
		label string
	}{{k2s, "Kafka -> stream-sea"}, {s2k, "stream-sea -> Kafka"}} {
		got := ""
		if d.t != nil {
			got = fmtBytes(int64(d.t.PeakRSSBytes.Max)) + " (highest of the rounds)"
		}
		add("peak RSS at saturation, "+d.label, "< "+fmtBytes(targetPeakRSS), d.t != nil, got,
			d.t != nil && d.t.PeakRSSBytes.Max < targetPeakRSS)
	}
	idle := r.Idle != nil && r.Idle.Error == ""
	got := ""
	if idle {
		got = fmt.Sprintf("%.0f KiB", r.Idle.PerPipelineBytes/1024)
	}
	add("RSS per idle pipeline", "< "+fmtBytes(targetIdleRSSPerPipeline), idle, got,
		idle && r.Idle.PerPipelineBytes < targetIdleRSSPerPipeline)
	return out
}

func k2sRate(t *Throughput) string {
	if t == nil {
		return ""
	}
	return fmt.Sprintf("%.0f msg/s", t.MsgPerSec.Median)
}

func k2sCPU(t *Throughput) string {
	if t == nil {
		return ""
	}
	return fmt.Sprintf("%.2f CPU-s per million", t.CPUSecondsPerMillion.Median)
}

func ratioText(r *Ratio) string {
	if r == nil {
		return ""
	}
	return fmt.Sprintf("%.2f [%.2f-%.2f]", r.Median, r.Min, r.Max)
}

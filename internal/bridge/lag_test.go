package bridge_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seabridge/seabridge/internal/streamsea/emulator"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// TestConsumerGroupLagAcrossInstances runs two instances of a Kafka → stream-sea pipeline in
// one consumer group while stream-sea refuses every publish, so that lag builds up. Each
// partition's seabridge_kafka_consumergroup_lag is exported by exactly the instance that owns
// it, and the lag_sum series of both instances add up to the group's lag, counted once (the
// per-pipeline seabridge_kafka_consumer_lag is on both, and adds up to twice as much).
func TestConsumerGroupLagAcrossInstances(t *testing.T) {
	kafkatest.ForEachBroker(t, func(t *testing.T, brokers []string) {
		const partitions, perPartition = 4, 10
		w := newWorld(t, brokers)
		topic, group := kafkatest.UniqueTopic(t, "lag"), kafkatest.UniqueTopic(t, "group")
		kafkatest.CreateTopic(t, brokers, topic, partitions)
		p := k2sPipe("lag-to-streamsea", topic, group, "lagging")
		p.sourceLines = append(slices.Clone(fastGroupLines), `lag_interval = "1s"`)
		a := w.start("a", w.config(settings{instance: "bridge-a"}, p))
		b := w.start("b", w.config(settings{instance: "bridge-b"}, p))
		a.awaitReady(t, flowTimeout)
		b.awaitReady(t, flowTimeout)
		eventually(t, flowTimeout, "the partitions shared out", func() (bool, string) {
			na := metricValue(t, a.Registry(), "seabridge_kafka_assigned_partitions", p.name)
			nb := metricValue(t, b.Registry(), "seabridge_kafka_assigned_partitions", p.name)
			return na > 0 && nb > 0 && na+nb == partitions, fmt.Sprintf("A owns %v, B %v", na, nb)
		})
		if _, err := w.emu.Server.AddFault(emulator.Fault{Kind: emulator.FaultError, Route: emulator.RoutePublish, Status: 503}); err != nil {
			t.Fatal(err)
		}
		for part := range partitions {
			msgs := kafkaMessages(makeRecords(fmt.Sprintf("lag%d", part), 0, perPartition, 3))
			kafkatest.ProduceToPartition(t, brokers, topic, part, msgs...)
		}
		const total = partitions * perPartition
		eventually(t, flowTimeout, "the group's lag exported once by its owners", func() (bool, string) {
			la, sa := groupLag(t, a.Registry())
			lb, sb := groupLag(t, b.Registry())
			for part := range la {
				if _, both := lb[part]; both {
					return false, fmt.Sprintf("partition %s exported by both instances", part)
				}
			}
			covered := len(la)+len(lb) == partitions
			perPipeline := metricSum(t, a.Registry(), "seabridge_kafka_consumer_lag") + metricSum(t, b.Registry(), "seabridge_kafka_consumer_lag")
			return covered && sa+sb == total && perPipeline == 2*total,
				fmt.Sprintf("A exports %v (sum %v), B %v (sum %v); consumer_lag on both adds up to %v", la, sa, lb, sb, perPipeline)
		})
		w.emu.Server.ResetFaults()
		eventually(t, flowTimeout, "the lag back to 0 once stream-sea accepts", func() (bool, string) {
			_, sa := groupLag(t, a.Registry())
			_, sb := groupLag(t, b.Registry())
			return sa+sb == 0, fmt.Sprintf("lag_sum A %v, B %v", sa, sb)
		})
	})
}

// groupLag returns, from one instance's registry, its seabridge_kafka_consumergroup_lag by
// partition and the sum of its seabridge_kafka_consumergroup_lag_sum.
func groupLag(t *testing.T, reg prometheus.Gatherer) (map[string]float64, float64) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	lags := map[string]float64{}
	var sum float64
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch f.GetName() {
			case "seabridge_kafka_consumergroup_lag":
				for _, l := range m.GetLabel() {
					if l.GetName() == "partition" {
						lags[l.GetValue()] = m.GetGauge().GetValue()
					}
				}
			case "seabridge_kafka_consumergroup_lag_sum":
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return lags, sum
}

// metricSum adds up every series of the gauge family name.
func metricSum(t *testing.T, reg prometheus.Gatherer, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

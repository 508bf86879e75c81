package source

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/seabridge/seabridge/internal/kafkautil"
)

// A topic whose partition count changes must be rebalanced so that its new partitions get an
// owner. kafka-go's own partition watcher takes its baseline when it starts, after the
// assignment, so a partition added in between is missed until some other rebalance. Here the
// baseline is exact: the group's leader, which reads the partitions to assign them, records
// how many each topic had (assignmentRecorder), and watches for a change in that generation.

// assignmentRecorder is a GroupBalancer that records the partition count of every subscribed
// topic whenever this member, as the group's leader, assigns the partitions.
type assignmentRecorder struct {
	kafka.GroupBalancer
	counts *assignedCounts
}

func (r assignmentRecorder) AssignGroups(members []kafka.GroupMember, partitions []kafka.Partition) kafka.GroupMemberAssignments {
	counts := map[string]int{}
	for _, m := range members {
		for _, t := range m.Topics {
			counts[t] = 0
		}
	}
	for _, p := range partitions {
		counts[p.Topic]++
	}
	r.counts.set(counts)
	return r.GroupBalancer.AssignGroups(members, partitions)
}

// recordingBalancers returns kafka-go's default balancers (range, then round robin), recording.
func recordingBalancers(counts *assignedCounts) []kafka.GroupBalancer {
	return []kafka.GroupBalancer{
		assignmentRecorder{kafka.RangeGroupBalancer{}, counts},
		assignmentRecorder{kafka.RoundRobinGroupBalancer{}, counts},
	}
}

// assignedCounts holds the partition counts of the last assignment this member made.
type assignedCounts struct {
	mu     sync.Mutex
	counts map[string]int
}

func (a *assignedCounts) set(c map[string]int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.counts = c
}

// take returns the recorded counts, or nil when this member assigned nothing since the last
// take, and forgets them.
func (a *assignedCounts) take() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.counts
	a.counts = nil
	return c
}

// watchPartitions reads the partition counts of the assigned topics every
// PartitionWatchInterval and returns, which ends the generation and starts a rebalance, as soon
// as one differs from the count the assignment used. Failed reads are skipped: a lost
// coordinator ends the generation through the heartbeat.
func (g *kafkaGeneration) watchPartitions(ctx context.Context, assigned map[string]int) {
	s := g.sess
	topics := make([]string, 0, len(assigned))
	for t := range assigned {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	ticker := time.NewTicker(s.opts.PartitionWatchInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		mctx, cancel := context.WithTimeout(ctx, s.opts.PartitionWatchInterval+5*time.Second)
		md, err := kafkautil.Metadata(mctx, s.client, topics)
		cancel()
		if err != nil {
			continue
		}
		now := make(map[string]int, len(topics))
		for _, t := range md.Topics {
			if t.Error == nil {
				now[t.Name] = len(t.Partitions)
			}
		}
		for _, t := range topics {
			if now[t] != assigned[t] {
				s.logger.Info("partition count changed; rebalancing the consumer group", "topic", t,
					"assigned", assigned[t], "now", now[t])
				return
			}
		}
	}
}

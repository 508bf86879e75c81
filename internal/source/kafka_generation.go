package source

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
)

// kafkaGeneration is this member's part of one generation of the consumer group: the
// partitions it was assigned, one fetcher per partition and a committer. The generation ends
// when kafka-go closes the context it gives them (a heartbeat learnt of a rebalance, a
// partition count changed, or the group is closed); the committer then settles and commits
// what it can (end), and the generation is forgotten.
type kafkaGeneration struct {
	sess *kafkaSession
	gen  *kafka.Generation

	mu        sync.Mutex
	parts     map[topicPartition]*partitionOffsets // the partitions assigned; read-only after construction
	live      bool                                 // acks are recorded; false once end took the final positions
	over      bool                                 // the generation ended: the member owns none of its partitions
	ended     atomic.Bool                          // over, read without the mutex
	unsettled int                                  // messages registered by fetchers and not yet acked, nacked or abandoned
	idle      chan struct{}                        // closed when unsettled reaches 0 while end is waiting
}

func newKafkaGeneration(s *kafkaSession, gen *kafka.Generation) *kafkaGeneration {
	g := &kafkaGeneration{sess: s, gen: gen, parts: map[topicPartition]*partitionOffsets{}, live: true}
	for topic, assigned := range gen.Assignments {
		for _, a := range assigned {
			tp := topicPartition{topic, a.ID}
			g.parts[tp] = newPartitionOffsets(tp, a.Offset)
		}
	}
	return g
}

func (g *kafkaGeneration) owns(tp topicPartition) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.parts[tp]
	return ok && !g.over
}

// fetch reads partition p from the offset the generation assigned it and hands each message
// to Read, until ctx (the generation) ends. A message fetched when the generation ends is
// dropped: the partition's next owner reads it again.
func (g *kafkaGeneration) fetch(ctx context.Context, p *partitionOffsets) {
	newPartitionFetcher(g, p).run(ctx, p.start)
}

// register records fetched messages, filled in recs, as pending in p.
func (g *kafkaGeneration) register(p *partitionOffsets, recs []*kafkaRecord) {
	for _, rec := range recs {
		rec.gen, rec.part, rec.offset = g, p, rec.msg.Offset
		rec.ackFn = rec.ack
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, rec := range recs {
		p.add(rec.offset)
	}
	g.unsettled += len(recs)
}

// settle records the outcome of one registered message: done marks it acked. Once the
// generation's final positions were taken, outcomes are no longer recorded.
func (g *kafkaGeneration) settle(p *partitionOffsets, offset int64, done bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if done && g.live {
		p.done(offset)
	}
	g.unsettled--
	if g.unsettled == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
}

// run commits every CommitInterval until the generation ends, then ends it.
func (g *kafkaGeneration) run(ctx context.Context) {
	ticker := time.NewTicker(g.sess.opts.CommitInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			g.end()
			return
		case <-ticker.C:
			if err := g.commit(g.commitable()); err != nil {
				g.logCommitError(err)
			}
		}
	}
}

// end runs once the generation is over. Unless the session is closing, it waits (at most the
// drain timeout) for the messages Read returned to be settled; it then commits the acked
// prefix of every partition through the generation, whose coordinator connection kafka-go
// keeps open until the generation's functions have returned, and stops recording acks.
func (g *kafkaGeneration) end() {
	s := g.sess
	g.mu.Lock()
	g.over = true
	g.mu.Unlock()
	g.ended.Store(true)
	s.ended(g)
	for _, rec := range s.queue.removeGeneration(g) {
		rec.abandon()
	}

	start := time.Now()
	unsettled := g.drain(s.opts.drainTimeout())
	g.mu.Lock()
	g.live = false
	positions := g.commitableLocked()
	g.mu.Unlock()
	err := g.commit(positions)
	if s.ctx.Err() != nil { // closing: Close reports the error
		s.mu.Lock()
		s.closeErr = err
		s.mu.Unlock()
		return
	}
	if err != nil {
		g.logCommitError(err)
	}
	s.metrics.revokeUnsettled.Add(float64(unsettled))
	s.logger.Info("consumer-group generation ended; its partitions are released",
		"generation", g.gen.ID, "partitions", describePartitions(g.parts),
		"waited", time.Since(start).Round(time.Millisecond), "unsettled", unsettled, "committed", len(positions))
}

// drain waits until every registered message is settled, the timeout expires, or the session
// is closing, and returns how many are still unsettled then.
func (g *kafkaGeneration) drain(timeout time.Duration) int {
	g.mu.Lock()
	if g.unsettled == 0 || g.sess.ctx.Err() != nil {
		n := g.unsettled
		g.mu.Unlock()
		return n
	}
	idle := make(chan struct{})
	g.idle = idle
	g.mu.Unlock()

	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	case <-g.sess.ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.idle = nil
	return g.unsettled
}

// commitPosition is what one partition can commit now.
type commitPosition struct {
	part   *partitionOffsets
	offset int64 // the next offset to read
}

func (g *kafkaGeneration) commitable() []commitPosition {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.live {
		return nil
	}
	return g.commitableLocked()
}

// uncommitted is what the generation could commit and Kafka has not accepted: the acked
// prefix of each partition beyond its last commit, whether or not acks are still recorded.
func (g *kafkaGeneration) uncommitted() []commitPosition {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.commitableLocked()
}

func (g *kafkaGeneration) commitableLocked() []commitPosition {
	var out []commitPosition
	for _, p := range g.parts {
		if p.next > p.committed {
			out = append(out, commitPosition{part: p, offset: p.next})
		}
	}
	return out
}

// commit commits positions through the generation. On failure they stay pending and the next
// commit of the generation tries again.
func (g *kafkaGeneration) commit(positions []commitPosition) error {
	if len(positions) == 0 {
		return nil
	}
	offsets := map[string]map[int]int64{}
	for _, c := range positions {
		tp := c.part.tp
		if offsets[tp.topic] == nil {
			offsets[tp.topic] = map[int]int64{}
		}
		offsets[tp.topic][tp.partition] = c.offset
	}
	m := g.sess.metrics
	if err := g.gen.CommitOffsets(offsets); err != nil {
		m.commitErrors.Inc()
		if isRebalanceError(err) {
			m.commitRebalance.Inc()
		} else {
			m.commitError.Inc()
		}
		return fmt.Errorf("commit offsets of generation %d: %w", g.gen.ID, err)
	}
	m.commitOK.Inc()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range positions {
		c.part.committed = max(c.part.committed, c.offset)
	}
	return nil
}

func (g *kafkaGeneration) logCommitError(err error) {
	if isRebalanceError(err) {
		g.sess.logger.Info("offset commit refused during a rebalance; offsets stay pending", "err", err)
		return
	}
	g.sess.logger.Warn("offset commit failed; offsets stay pending", "err", err)
}

package pipeline_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/backoff"
	"github.com/seabridge/seabridge/internal/pipeline"
)

// partKey names one message of a partitioned source.
type partKey struct {
	partition int
	offset    int64
}

// partSource serves n messages per partition, interleaved across the partitions in offset
// order, and records every ack. An ack of a message the sink has not accepted is a violation.
type partSource struct {
	sink *orderSink
	mu   sync.Mutex
	msgs []*pipeline.Message
	next int
	// acked: the acked offsets per partition; violations: what went wrong.
	acked      map[int]map[int64]int
	violations []string
}

func newPartSource(partitions, perPartition int, sink *orderSink) *partSource {
	s := &partSource{sink: sink, acked: map[int]map[int64]int{}}
	for o := range perPartition {
		for p := range partitions {
			s.msgs = append(s.msgs, &pipeline.Message{Topic: "t", Partition: p, Offset: int64(o),
				Value: []byte(fmt.Sprintf(`{"p":%d,"o":%d}`, p, o))})
		}
	}
	return s
}

func (s *partSource) Connect(context.Context) error { return nil }
func (s *partSource) Close(context.Context) error   { return nil }

func (s *partSource) Read(ctx context.Context) (*pipeline.Message, pipeline.AckFunc, error) {
	s.mu.Lock()
	if s.next == len(s.msgs) {
		s.mu.Unlock()
		<-ctx.Done()
		return nil, nil, ctx.Err()
	}
	m := s.msgs[s.next]
	s.next++
	s.mu.Unlock()
	k := partKey{m.Partition, m.Offset}
	return m, func(_ context.Context, err error) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if err != nil {
			s.violations = append(s.violations, fmt.Sprintf("%v nacked: %v", k, err))
			return nil
		}
		if !s.sink.accepted(k) {
			s.violations = append(s.violations, fmt.Sprintf("%v acked before the sink accepted it", k))
		}
		if s.acked[k.partition] == nil {
			s.acked[k.partition] = map[int64]int{}
		}
		s.acked[k.partition][k.offset]++
		return nil
	}, nil
}

// ackedAll reports whether every message was acked.
func (s *partSource) ackedAll() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, offs := range s.acked {
		n += len(offs)
	}
	return n == len(s.msgs)
}

// orderSink accepts batches concurrently. The first three writes are held until all three are
// in flight, then complete in the reverse order of their arrival; later writes take a random
// 0-2ms. It records per partition the order in which messages were written, and it reports a
// write that holds a partition another unfinished write also holds.
type orderSink struct {
	mu         sync.Mutex
	arrivals   int
	gates      [3]chan struct{}
	inFlight   map[int]int // partition -> unfinished writes holding it
	concurrent int
	maxConc    int
	written    map[int][]int64
	accept     map[partKey]bool
	violations []string
}

func newOrderSink() *orderSink {
	s := &orderSink{inFlight: map[int]int{}, written: map[int][]int64{}, accept: map[partKey]bool{}}
	for i := range s.gates {
		s.gates[i] = make(chan struct{})
	}
	return s
}

func (s *orderSink) Connect(context.Context) error { return nil }
func (s *orderSink) Close(context.Context) error   { return nil }

func (s *orderSink) accepted(k partKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accept[k]
}

func (s *orderSink) Write(ctx context.Context, batch []*pipeline.Message) error {
	parts := map[int]bool{}
	s.mu.Lock()
	n := s.arrivals
	s.arrivals++
	for _, m := range batch {
		parts[m.Partition] = true
		s.written[m.Partition] = append(s.written[m.Partition], m.Offset)
	}
	for p := range parts {
		if s.inFlight[p] > 0 {
			s.violations = append(s.violations, fmt.Sprintf("write %d holds partition %d while an earlier write of it is unfinished", n, p))
		}
		s.inFlight[p]++
	}
	s.concurrent++
	s.maxConc = max(s.maxConc, s.concurrent)
	if n == len(s.gates)-1 {
		close(s.gates[n]) // the third arrival: all three are in flight
	}
	s.mu.Unlock()

	if n < len(s.gates) {
		select {
		case <-s.gates[n]:
		case <-ctx.Done():
			return ctx.Err()
		}
	} else {
		time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
	}

	s.mu.Lock()
	for _, m := range batch {
		s.accept[partKey{m.Partition, m.Offset}] = true
	}
	for p := range parts {
		s.inFlight[p]--
	}
	s.concurrent--
	s.mu.Unlock()
	if n > 0 && n < len(s.gates) {
		close(s.gates[n-1]) // the next older write may complete now
	}
	return nil
}

// TestConcurrentWritesKeepPartitionOrder runs a runner with four writes in flight over three
// partitions whose first writes complete in reverse order, and checks that writes overlap,
// that no two unfinished writes hold the same partition, that each partition's messages
// are written in offset order exactly once, and that no message is acked before the sink
// accepted it.
func TestConcurrentWritesKeepPartitionOrder(t *testing.T) {
	const partitions, perPartition = 3, 100
	sink := newOrderSink()
	src := newPartSource(partitions, perPartition, sink)
	r, err := pipeline.NewRunner(pipeline.Options{
		Name: "concurrent", Direction: pipeline.DirectionKafkaToStreamSea, Source: src, Sink: sink,
		BatchSize: 10, Linger: time.Millisecond, MaxInFlightWrites: 4, ShutdownTimeout: 2 * time.Second,
		Retry: backoff.Policy{Initial: time.Millisecond, Max: 4 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	for !src.ackedAll() && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	if !src.ackedAll() {
		sink.mu.Lock()
		t.Errorf("not every message was acked within 20s (%d writes, at most %d at once): the first "+
			"three writes complete only once all three are in flight", sink.arrivals, sink.maxConc)
		sink.mu.Unlock()
	}
	cancel()
	if err := <-done; err != nil && !t.Failed() {
		t.Fatalf("Run = %v", err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	src.mu.Lock()
	defer src.mu.Unlock()
	for _, v := range append(sink.violations, src.violations...) {
		t.Error(v)
	}
	if sink.maxConc < 3 {
		t.Errorf("at most %d writes in flight at once, want 3 or more", sink.maxConc)
	}
	for p := range partitions {
		got := sink.written[p]
		if len(got) != perPartition {
			t.Errorf("partition %d: %d messages written, want %d", p, len(got), perPartition)
		}
		for i, o := range got {
			if o != int64(i) {
				t.Fatalf("partition %d: message %d written has offset %d (reordered or duplicated): %v", p, i, o, got)
			}
		}
	}
}

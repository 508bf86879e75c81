package pipelinetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/seabridge/seabridge/internal/pipeline"
)

// ErrClosed is returned by Read and Connect on a closed MemSource and by Write on a closed
// MemSink.
var ErrClosed = errors.New("closed")

// ErrDoubleAck is returned by an AckFunc called more than once for one delivery.
var ErrDoubleAck = errors.New("message settled twice")

type record struct{ key, value []byte }

// MemLog is an in-memory, single-partition log with one consumer group's committed position,
// shared by the MemSources reading it: each new MemSource starts at the committed position,
// which is the end of the contiguous prefix of acked offsets (as a Kafka committer does).
// Acks and nacks of every delivery are recorded. All methods are safe for concurrent use.
type MemLog struct {
	topic string

	mu         sync.Mutex
	records    []record
	deliveries []int32 // per offset
	settles    []int32 // per offset, acks + nacks
	acked      []bool
	committed  int64
	nacks      int
	doubleAcks int
	grew       chan struct{} // closed and replaced on Append
}

// NewMemLog returns an empty log; messages read from it carry Topic topic and Partition 0.
func NewMemLog(topic string) *MemLog {
	return &MemLog{topic: topic, grew: make(chan struct{})}
}

// Append adds one message per value (with no key) and returns the offset of the first.
func (l *MemLog) Append(values ...[]byte) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	first := int64(len(l.records))
	for _, v := range values {
		l.records = append(l.records, record{value: v})
	}
	l.grow(len(values))
	return first
}

// AppendKeyed adds one message with key and value and returns its offset.
func (l *MemLog) AppendKeyed(key, value []byte) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, record{key: key, value: value})
	l.grow(1)
	return int64(len(l.records) - 1)
}

func (l *MemLog) grow(n int) {
	l.deliveries = append(l.deliveries, make([]int32, n)...)
	l.settles = append(l.settles, make([]int32, n)...)
	l.acked = append(l.acked, make([]bool, n)...)
	close(l.grew)
	l.grew = make(chan struct{})
}

// Len returns the number of messages appended.
func (l *MemLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.records)
}

// Committed returns the first offset not yet acked in the contiguous acked prefix.
func (l *MemLog) Committed() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.committed
}

// Acked returns how many distinct offsets have been acked.
func (l *MemLog) Acked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, a := range l.acked {
		if a {
			n++
		}
	}
	return n
}

// Nacks returns how many nacks were recorded.
func (l *MemLog) Nacks() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nacks
}

// Unsettled returns how many deliveries were neither acked nor nacked.
func (l *MemLog) Unsettled() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for i, d := range l.deliveries {
		n += int(d - l.settles[i])
	}
	return n
}

// DoubleAcks returns how many AckFunc calls exceeded the deliveries of their offset.
func (l *MemLog) DoubleAcks() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.doubleAcks
}

// next returns the message at offset, or a channel closed when the log grows.
func (l *MemLog) next(offset int64) (*pipeline.Message, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if offset >= int64(len(l.records)) {
		return nil, l.grew
	}
	l.deliveries[offset]++
	rec := l.records[offset]
	now := time.Now()
	return &pipeline.Message{
		Key: rec.key, Value: rec.value, Topic: l.topic, Offset: offset, ReceivedAt: now, Time: now,
	}, nil
}

func (l *MemLog) settle(offset int64, err error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.settles[offset] >= l.deliveries[offset] {
		l.doubleAcks++
		return fmt.Errorf("offset %d: %w", offset, ErrDoubleAck)
	}
	l.settles[offset]++
	if err != nil {
		l.nacks++
		return nil
	}
	l.acked[offset] = true
	for l.committed < int64(len(l.acked)) && l.acked[l.committed] {
		l.committed++
	}
	return nil
}

// MemSource reads a MemLog from its committed position (taken at the first Connect). Acks
// mark offsets done in the log; nacked and unacked messages are redelivered to the next
// MemSource (Redelivers). After ErrNotConnected, Read fails until Connect is called again;
// reconnecting keeps the read position.
type MemSource struct {
	log *MemLog

	mu          sync.Mutex
	pos         int64
	started     bool
	connected   bool
	closed      bool
	readFails   int
	readErr     error
	connectErrs []error
	connects    int
	closes      int
	lost        chan struct{} // closed and replaced when the connection is lost
}

var _ pipeline.Source = (*MemSource)(nil)

// NewMemSource returns an unconnected source reading log.
func NewMemSource(log *MemLog) *MemSource {
	return &MemSource{log: log, lost: make(chan struct{})}
}

// Connect connects, or returns the next injected connect error.
func (s *MemSource) Connect(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if len(s.connectErrs) > 0 {
		err := s.connectErrs[0]
		s.connectErrs = s.connectErrs[1:]
		return err
	}
	if !s.started {
		s.started = true
		s.pos = s.log.Committed()
	}
	s.connects++
	s.connected = true
	return ctx.Err()
}

// Read returns the next message, blocking until one is appended, ctx is done, or the
// connection is lost.
func (s *MemSource) Read(ctx context.Context) (*pipeline.Message, pipeline.AckFunc, error) {
	for {
		s.mu.Lock()
		if err := s.readFailure(); err != nil {
			s.mu.Unlock()
			return nil, nil, err
		}
		msg, grew := s.log.next(s.pos)
		if msg != nil {
			s.pos++
			s.mu.Unlock()
			log, offset := s.log, msg.Offset
			return msg, func(_ context.Context, err error) error { return log.settle(offset, err) }, nil
		}
		lost := s.lost
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-grew:
		case <-lost:
		}
	}
}

// readFailure returns the error Read must return now, if any. s.mu is held.
func (s *MemSource) readFailure() error {
	switch {
	case s.closed:
		return ErrClosed
	case s.readFails > 0:
		s.readFails--
		if errors.Is(s.readErr, pipeline.ErrNotConnected) {
			s.disconnect()
		}
		return s.readErr
	case !s.connected:
		return pipeline.ErrNotConnected
	}
	return nil
}

func (s *MemSource) disconnect() {
	s.connected = false
	close(s.lost)
	s.lost = make(chan struct{})
}

// Close is idempotent; unacked messages stay uncommitted in the log.
func (s *MemSource) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closes++
	if !s.closed {
		s.closed = true
		close(s.lost)
	}
	return nil
}

// Disconnect drops the connection: Read returns ErrNotConnected (waking a blocked Read)
// until Connect is called.
func (s *MemSource) Disconnect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.connected && !s.closed {
		s.disconnect()
	}
}

// FailReads makes the next n Reads return err; ErrNotConnected also drops the connection.
func (s *MemSource) FailReads(n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readFails, s.readErr = n, err
}

// FailConnects makes the next Connect calls return errs, one each, in order.
func (s *MemSource) FailConnects(errs ...error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connectErrs = append(s.connectErrs, errs...)
}

// Connects returns the number of successful Connect calls.
func (s *MemSource) Connects() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connects
}

// Closes returns the number of Close calls.
func (s *MemSource) Closes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closes
}

// MemBatchSource is a MemSource that also hands over messages in batches
// (pipeline.BatchSource), for tests of the runner's batch path.
type MemBatchSource struct{ *MemSource }

var _ pipeline.BatchSource = MemBatchSource{}

// NewMemBatchSource returns an unconnected batch source reading log.
func NewMemBatchSource(log *MemLog) MemBatchSource { return MemBatchSource{NewMemSource(log)} }

// ReadBatch waits as Read does for the first message, then returns up to len(msgs) of the
// messages already appended.
func (s MemBatchSource) ReadBatch(ctx context.Context, msgs []*pipeline.Message, acks []pipeline.AckFunc) (int, error) {
	msg, ack, err := s.Read(ctx)
	if err != nil {
		return 0, err
	}
	msgs[0], acks[0] = msg, ack
	n := 1
	s.mu.Lock()
	defer s.mu.Unlock()
	for ; n < len(msgs) && s.readFailure() == nil; n++ {
		msg, _ := s.log.next(s.pos)
		if msg == nil {
			break
		}
		s.pos++
		log, offset := s.log, msg.Offset
		msgs[n], acks[n] = msg, func(_ context.Context, err error) error { return log.settle(offset, err) }
	}
	return n, nil
}

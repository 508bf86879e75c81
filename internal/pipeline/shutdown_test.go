package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/pipeline"
)

// bufferedSource is a source that cannot redeliver, holding received messages in a buffer (as
// the stream-sea source does). After StopIntake it hands out the buffer, then ErrDrained.
// Read blocks while maxInFlight messages are unacked.
type bufferedSource struct {
	buf     chan *pipeline.Message
	slots   chan struct{}
	stopped chan struct{}
	once    sync.Once
	acked   atomic.Int64
	nacked  atomic.Int64
}

var _ pipeline.IntakeStopper = (*bufferedSource)(nil)

func newBufferedSource(n, maxInFlight int) *bufferedSource {
	s := &bufferedSource{buf: make(chan *pipeline.Message, n), slots: make(chan struct{}, maxInFlight),
		stopped: make(chan struct{})}
	for i := range n {
		s.buf <- &pipeline.Message{Stream: "s", Value: fmt.Appendf(nil, "m-%04d", i), Offset: int64(i)}
	}
	return s
}

func (s *bufferedSource) Connect(context.Context) error { return nil }
func (s *bufferedSource) Close(context.Context) error   { return nil }
func (s *bufferedSource) StopIntake()                   { s.once.Do(func() { close(s.stopped) }) }

func (s *bufferedSource) Read(ctx context.Context) (*pipeline.Message, pipeline.AckFunc, error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	m, err := s.next(ctx)
	if err != nil {
		<-s.slots
		return nil, nil, err
	}
	return m, s.ack, nil
}

func (s *bufferedSource) next(ctx context.Context) (*pipeline.Message, error) {
	select {
	case m := <-s.buf:
		return m, nil
	default:
	}
	select {
	case m := <-s.buf:
		return m, nil
	case <-s.stopped:
		select {
		case m := <-s.buf:
			return m, nil
		default:
			return nil, fmt.Errorf("buffered source: %w", pipeline.ErrDrained)
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *bufferedSource) ack(_ context.Context, err error) error {
	<-s.slots
	if err != nil {
		s.nacked.Add(1)
	} else {
		s.acked.Add(1)
	}
	return nil
}

// TestShutdownDrainsASourceThatCannotRedeliver stops the runner while a source that cannot
// redeliver still buffers most of its messages (the sink is slow): the runner must stop the
// source's intake and write everything it buffered within the shutdown budget, also when the
// source holds back messages until fewer than a batch are unacked.
func TestShutdownDrainsASourceThatCannotRedeliver(t *testing.T) {
	const n = 100
	for _, maxInFlight := range []int{n, 3} {
		t.Run(fmt.Sprintf("max_in_flight=%d", maxInFlight), func(t *testing.T) {
			rg := newRig(0)
			src := newBufferedSource(n, maxInFlight)
			rg.opts.Source = src
			rg.opts.MaxInFlightBatches = 1
			rg.opts.ShutdownTimeout = 10 * time.Second
			mapper, seen := seenMapper(3)
			rg.opts.Mapper = mapper
			rg.sink.SetBlocked(true)
			run := rg.start(t)
			await(t, seen, "the runner to read")
			run.cancel()
			rg.sink.SetBlocked(false)
			if err := run.wait(); err != nil {
				t.Fatalf("Run = %v", err)
			}
			if got := rg.sink.Count(); got != n {
				t.Errorf("sink holds %d messages, want all %d the source had received", got, n)
			}
			for i, m := range rg.sink.Messages() {
				if m.Offset != int64(i) {
					t.Fatalf("sink message %d is %q: reordered", i, m.Value)
				}
			}
			if a, na := src.acked.Load(), src.nacked.Load(); a != n || na != 0 {
				t.Errorf("acked %d, nacked %d; want %d acked", a, na, n)
			}
		})
	}
}

// TestShutdownDrainIsBoundedByTheBudget checks that draining stops when the shutdown budget
// expires: what was read and not written is nacked, and Run reports the expiry.
func TestShutdownDrainIsBoundedByTheBudget(t *testing.T) {
	const n = 100
	rg := newRig(0)
	src := newBufferedSource(n, n)
	rg.opts.Source = src
	rg.opts.ShutdownTimeout = 50 * time.Millisecond
	mapper, seen := seenMapper(5)
	rg.opts.Mapper = mapper
	rg.sink.SetBlocked(true) // never answers
	run := rg.start(t)
	await(t, seen, "the runner to read")
	run.cancel()
	if err := run.wait(); !errors.Is(err, pipeline.ErrShutdownTimeout) {
		t.Fatalf("Run = %v, want ErrShutdownTimeout", err)
	}
	if a, na := src.acked.Load(), src.nacked.Load(); a != 0 || na == 0 {
		t.Errorf("acked %d, nacked %d; want none acked and what was read nacked", a, na)
	}
}

// leftoverSource is a bufferedSource that counts what is still in its buffer when it is
// closed as undelivered, as the stream-sea source does.
type leftoverSource struct {
	*bufferedSource
	undelivered atomic.Uint64
}

var _ pipeline.UndeliveredReporter = (*leftoverSource)(nil)

func (s *leftoverSource) Close(context.Context) error {
	s.undelivered.Store(uint64(len(s.buf)))
	return nil
}

func (s *leftoverSource) Undelivered() uint64 { return s.undelivered.Load() }

// TestShutdownReportsUndeliveredMessages stops a runner whose budget expires while its source
// still buffers messages it cannot redeliver: Run names both losses, the nacked and the never
// read, and Stats counts both.
func TestShutdownReportsUndeliveredMessages(t *testing.T) {
	const n = 100
	rg := newRig(0)
	src := &leftoverSource{bufferedSource: newBufferedSource(n, 10)}
	rg.opts.Source = src
	rg.opts.ShutdownTimeout = 50 * time.Millisecond
	mapper, seen := seenMapper(5)
	rg.opts.Mapper = mapper
	rg.sink.SetBlocked(true) // never answers
	run := rg.start(t)
	await(t, seen, "the runner to read")
	run.cancel()
	err := run.wait()
	if !errors.Is(err, pipeline.ErrShutdownTimeout) || !errors.Is(err, pipeline.ErrUndelivered) {
		t.Fatalf("Run = %v, want ErrShutdownTimeout and ErrUndelivered", err)
	}
	st := run.runner.Stats()
	left := src.undelivered.Load()
	if left == 0 || st.Undelivered != left {
		t.Errorf("Stats().Undelivered = %d, the source reports %d; want it equal and not 0", st.Undelivered, left)
	}
	if want := fmt.Sprintf("%d message(s) received by the source and never read", left); !strings.Contains(err.Error(), want) {
		t.Errorf("Run = %q, want it to contain %q", err, want)
	}
	if st.Nacked == 0 || st.In != st.Nacked || uint64(n) != st.In+left {
		t.Errorf("stats %+v: want everything read nacked, and read + undelivered = %d", st, n)
	}
}

// endlessSource always has a message ready, whatever the context: a source with a large backlog.
type endlessSource struct {
	next        atomic.Int64
	readsAfter  atomic.Int64 // Reads called with a done context
	acked, nack atomic.Int64
}

func (s *endlessSource) Connect(context.Context) error { return nil }
func (s *endlessSource) Close(context.Context) error   { return nil }

func (s *endlessSource) Read(ctx context.Context) (*pipeline.Message, pipeline.AckFunc, error) {
	if ctx.Err() != nil {
		s.readsAfter.Add(1)
	}
	i := s.next.Add(1) - 1
	return &pipeline.Message{Topic: "t", Offset: i, Value: []byte("v")}, s.ack, nil
}

func (s *endlessSource) ack(_ context.Context, err error) error {
	if err != nil {
		s.nack.Add(1)
	} else {
		s.acked.Add(1)
	}
	return nil
}

// TestShutdownStopsReadingABusySource cancels a runner whose source always has a message
// ready: the reader must stop reading at once, write what it read, and return without spending
// the shutdown budget.
func TestShutdownStopsReadingABusySource(t *testing.T) {
	rg := newRig(0)
	src := &endlessSource{}
	rg.opts.Source = src
	rg.opts.ShutdownTimeout = 5 * time.Second
	run := rg.start(t)
	rg.waitSink(t, 100)
	start := time.Now()
	err := run.stop()
	if err != nil {
		t.Fatalf("Run = %v after %v, want nil", err, time.Since(start))
	}
	if n := src.readsAfter.Load(); n > 1 {
		t.Errorf("Read was called %d times with a done context, want at most once", n)
	}
	if read, acked := src.next.Load(), src.acked.Load(); acked != read || src.nack.Load() != 0 {
		t.Errorf("read %d, acked %d, nacked %d: want everything read acked", read, acked, src.nack.Load())
	}
}

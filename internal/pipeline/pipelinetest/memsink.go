package pipelinetest

import (
	"context"
	"errors"
	"sync"

	"github.com/seabridge/seabridge/internal/pipeline"
)

// MemSink keeps what it is given in memory (or only counts it, see Discard) and can inject
// faults. All methods are safe for concurrent use.
type MemSink struct {
	mu          sync.Mutex
	msgs        []*pipeline.Message
	count       int
	discard     bool
	connected   bool
	closed      bool
	connects    int
	closes      int
	writes      int
	writeErrs   []error
	connectErrs []error
	reject      func(*pipeline.Message) error
	blocked     chan struct{} // non-nil while Write blocks; closed to release
	wrote       chan struct{} // closed and replaced after each successful Write
}

var (
	_ pipeline.Sink         = (*MemSink)(nil)
	_ pipeline.PrefixWriter = (*MemSink)(nil)
)

// NewMemSink returns an unconnected sink that keeps every message written.
func NewMemSink() *MemSink { return &MemSink{wrote: make(chan struct{})} }

// Discard makes the sink count messages without keeping them (for benchmarks).
func (s *MemSink) Discard() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.discard = true
}

// Connect connects, or returns the next injected connect error.
func (s *MemSink) Connect(ctx context.Context) error {
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
	s.connects++
	s.connected = true
	return ctx.Err()
}

// Write stores batch. While blocked (SetBlocked) it waits for ctx or release. Injected write
// errors come first (ErrNotConnected also drops the connection); then messages the Reject
// function names are left out and reported in a *pipeline.PoisonError.
func (s *MemSink) Write(ctx context.Context, batch []*pipeline.Message) error {
	return s.write(ctx, batch, false)
}

// WritePrefix is Write that stops at the first rejected message (pipeline.PrefixWriter).
func (s *MemSink) WritePrefix(ctx context.Context, batch []*pipeline.Message) error {
	return s.write(ctx, batch, true)
}

func (s *MemSink) write(ctx context.Context, batch []*pipeline.Message, prefix bool) error {
	if err := s.waitUnblocked(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	switch {
	case s.closed:
		return ErrClosed
	case len(s.writeErrs) > 0:
		err := s.writeErrs[0]
		s.writeErrs = s.writeErrs[1:]
		if errors.Is(err, pipeline.ErrNotConnected) {
			s.connected = false
		}
		return err
	case !s.connected:
		return pipeline.ErrNotConnected
	}
	var poison *pipeline.PoisonError
	for i, m := range batch {
		if s.reject != nil {
			if reason := s.reject(m); reason != nil {
				if poison == nil {
					poison = &pipeline.PoisonError{Errs: map[int]error{}}
				}
				poison.Errs[i] = reason
				if prefix {
					break
				}
				continue
			}
		}
		s.count++
		if !s.discard {
			s.msgs = append(s.msgs, m)
		}
	}
	close(s.wrote)
	s.wrote = make(chan struct{})
	if poison != nil {
		return poison
	}
	return nil
}

func (s *MemSink) waitUnblocked(ctx context.Context) error {
	s.mu.Lock()
	blocked := s.blocked
	s.mu.Unlock()
	if blocked == nil {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-blocked:
		return nil
	}
}

// Close is idempotent.
func (s *MemSink) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closes++
	s.closed = true
	s.connected = false
	return nil
}

// FailWrites makes the next Write calls return errs, one each, in order, writing nothing.
func (s *MemSink) FailWrites(errs ...error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeErrs = append(s.writeErrs, errs...)
}

// FailConnects makes the next Connect calls return errs, one each, in order.
func (s *MemSink) FailConnects(errs ...error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connectErrs = append(s.connectErrs, errs...)
}

// Reject makes Write reject (as poison) every message for which fn returns an error; nil
// accepts all again.
func (s *MemSink) Reject(fn func(*pipeline.Message) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = fn
}

// SetBlocked makes Write wait until ctx is done or SetBlocked(false) is called, as a backend
// that does not answer.
func (s *MemSink) SetBlocked(blocked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case blocked && s.blocked == nil:
		s.blocked = make(chan struct{})
	case !blocked && s.blocked != nil:
		close(s.blocked)
		s.blocked = nil
	}
}

// Messages returns a copy of the messages written, in order.
func (s *MemSink) Messages() []*pipeline.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*pipeline.Message(nil), s.msgs...)
}

// Count returns the number of messages written.
func (s *MemSink) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// WaitCount blocks until at least n messages were written or ctx is done.
func (s *MemSink) WaitCount(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		count, wrote := s.count, s.wrote
		s.mu.Unlock()
		if count >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wrote:
		}
	}
}

// Writes returns the number of Write calls, failed ones included.
func (s *MemSink) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// Connects returns the number of successful Connect calls.
func (s *MemSink) Connects() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connects
}

// Closes returns the number of Close calls.
func (s *MemSink) Closes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closes
}

// MemDeadLetter keeps dead-lettered messages with their reasons and can fail. Safe for
// concurrent use.
type MemDeadLetter struct {
	mu      sync.Mutex
	msgs    []*pipeline.Message
	reasons []error
	errs    []error
	calls   int
}

var _ pipeline.DeadLetter = (*MemDeadLetter)(nil)

// DeadLetter stores msgs and reasons, or returns the next injected error.
func (d *MemDeadLetter) DeadLetter(ctx context.Context, msgs []*pipeline.Message, reasons []error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	if len(d.errs) > 0 {
		err := d.errs[0]
		d.errs = d.errs[1:]
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	d.msgs = append(d.msgs, msgs...)
	d.reasons = append(d.reasons, reasons...)
	return nil
}

// Fail makes the next DeadLetter calls return errs, one each, in order.
func (d *MemDeadLetter) Fail(errs ...error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.errs = append(d.errs, errs...)
}

// Messages returns copies of the dead-lettered messages and their reasons, in order.
func (d *MemDeadLetter) Messages() ([]*pipeline.Message, []error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*pipeline.Message(nil), d.msgs...), append([]error(nil), d.reasons...)
}

// Calls returns the number of DeadLetter calls, failed ones included.
func (d *MemDeadLetter) Calls() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls
}

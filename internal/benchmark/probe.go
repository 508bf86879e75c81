package benchmark

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Probe collects what the final reader of one scenario sees. A scenario gives each reader
// goroutine its own Recorder, calls Start when its measured window begins (everything
// connected, nothing sent yet) — or, for a probe that opens on the first message, calls arm
// before it starts the component under test — and waits on Done, which is closed when want
// messages have arrived.
type Probe struct {
	want        int64
	latency     bool // whether payload send times mean anything in this scenario
	openOnFirst bool // the window opens when the first message arrives
	received    atomic.Int64
	bytes       atomic.Int64
	unstamp     atomic.Int64 // messages without a readable send time
	done        chan struct{}
	closed      atomic.Bool
	endNanos    atomic.Int64 // wall time the last wanted message arrived

	mu        sync.Mutex
	recorders []*Recorder // guarded by mu
	startOnce sync.Once
	start     usageSample // written by Start, read after Done
	startErr  error       // written by Start
	armedAt   time.Time   // written by arm before any message flows
	end       usageSample // written by wait
	finished  bool        // written by wait: end is valid
}

func newProbe(want int, latency, openOnFirst bool) *Probe {
	return &Probe{want: int64(want), latency: latency, openOnFirst: openOnFirst, done: make(chan struct{})}
}

// Start samples the process's counters and opens the measured window. Only the first call
// counts; it is safe from any goroutine.
func (p *Probe) Start() error {
	p.startOnce.Do(func() { p.start, p.startErr = sampleUsage() })
	return p.startErr
}

// arm records when the component under test was started, for a probe whose window opens on
// the first message: the time until then is reported as startup. Call it before any message
// can arrive.
func (p *Probe) arm() { p.armedAt = time.Now() }

// Done is closed once want messages have been observed.
func (p *Probe) Done() <-chan struct{} { return p.done }

// Received is the number of messages observed so far; safe from any goroutine.
func (p *Probe) Received() int64 { return p.received.Load() }

// Recorder returns a new recorder for one reader goroutine. Call it before Start: its sample
// buffer is allocated here, outside the measured window.
func (p *Probe) Recorder() *Recorder {
	r := &Recorder{probe: p}
	if p.latency {
		r.samples = make([]int64, 0, p.want)
	}
	p.mu.Lock()
	p.recorders = append(p.recorders, r)
	p.mu.Unlock()
	return r
}

// Recorder records the messages one reader goroutine receives. Its methods must not be called
// concurrently with each other.
type Recorder struct {
	probe   *Probe
	samples []int64
}

// Observe records one message received at now.
func (r *Recorder) Observe(payload []byte, now time.Time) {
	if r.probe.openOnFirst {
		_ = r.probe.Start() // an error is reported by wait
	}
	if r.probe.latency {
		if ts, ok := sentAt(payload); ok {
			r.samples = append(r.samples, now.UnixNano()-ts)
		} else {
			r.probe.unstamp.Add(1)
		}
	}
	r.probe.bytes.Add(int64(len(payload)))
	r.probe.add(1, now)
}

func (p *Probe) add(n int64, now time.Time) {
	if p.received.Add(n) >= p.want && p.closed.CompareAndSwap(false, true) {
		p.endNanos.Store(now.UnixNano())
		close(p.done)
	}
}

// latencies merges every recorder's samples. Call it only once the readers have stopped.
func (p *Probe) latencies() []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.recorders) == 1 {
		return p.recorders[0].samples
	}
	var all []int64
	for _, r := range p.recorders {
		all = append(all, r.samples...)
	}
	return all
}

// wait blocks until every wanted message has arrived (it then samples the end of the window),
// a worker reports an error on errc, or ctx ends.
func (p *Probe) wait(ctx context.Context, errc <-chan error) error {
	select {
	case <-p.done:
		if err := p.Start(); err != nil { // a no-op unless Start failed
			return err
		}
		end, err := sampleUsage()
		if err != nil {
			return err
		}
		p.end, p.finished = end, true
		return nil
	case err := <-errc:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%w: %d of %d: %w", ErrIncomplete, p.Received(), p.want, ctx.Err())
	}
}

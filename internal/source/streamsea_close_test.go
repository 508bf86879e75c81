package source

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/backoff"
	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/pipeline/pipelinetest"
	"github.com/seabridge/seabridge/internal/spool"
	"github.com/seabridge/seabridge/internal/streamsea/emulator"
)

// TestStreamSeaStopLosesNothingTheServerSent runs two sources in one group while a publisher
// runs, and stops one of them with deliveries in flight: its sink held back its messages (and,
// with a spool, its spool is full with when_full = "block"), so that hundreds of them wait in
// its socket. Every message the server sent to the stopping member must reach its sink (it
// reads until the server answers its close frame), and every message published afterwards
// must go to the other member: the emulator sent nothing that was not delivered, dropped
// nothing, and every published id is in one sink, once.
func TestStreamSeaStopLosesNothingTheServerSent(t *testing.T) {
	t.Run("memory", func(t *testing.T) { stopLosesNothing(t, false) })
	t.Run("spool", func(t *testing.T) { stopLosesNothing(t, true) })
}

func stopLosesNothing(t *testing.T, spooled bool) {
	ssVerifyNoLeaks(t)
	f := newSSFixture(t)
	const maxInFlight, spoolBytes = 20, 128 << 10
	var spoolA *SpooledStreamSea
	member := func(name string, spooled bool) (*StreamSea, *pipelinetest.MemSink, *ssRunner) {
		opts := f.options("s3cret", maxInFlight)
		opts.Pipeline = name
		inner := f.source(t, opts)
		var src pipeline.Source = inner
		if spooled {
			sp := NewSpooledStreamSea(inner, SpooledStreamSeaOptions{
				Pipeline: name,
				Spool:    spool.Options{Dir: t.TempDir(), MaxBytes: spoolBytes, WhenFull: spool.Block},
				Retry:    backoff.Policy{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond},
				DrainFor: 5 * time.Second,
			}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
			t.Cleanup(func() { _ = sp.Close(context.Background()) })
			src, spoolA = sp, sp
		}
		sink := pipelinetest.NewMemSink()
		return inner, sink, startSSRunner(t, src, sink, 10)
	}
	srcA, sinkA, runA := member("boiler-a", spooled)
	sinkA.SetBlocked(true)
	_, sinkB, _ := member("boiler-b", false)

	pub := startIDPublisher(t, f)
	// The stopping member holds max_in_flight (its spool is full) and the server's frames for
	// it pile up in the socket: they are in flight when it stops.
	isFull := func() bool {
		if spoolA == nil {
			return window(srcA).Held >= maxInFlight
		}
		spoolA.mu.Lock()
		sp := spoolA.sp
		spoolA.mu.Unlock()
		return sp != nil && sp.Stats().Bytes >= spoolBytes*3/4 && window(srcA).Held >= maxInFlight
	}
	full := -1
	for deadline := time.Now().Add(10 * time.Second); full < 0 || pub.count() < full+3000; {
		if time.Now().After(deadline) {
			t.Fatalf("within 10s: member a holds %d (full: %v), %d published", window(srcA).Held, full >= 0, pub.count())
		}
		if full < 0 && isFull() {
			full = pub.count()
		}
		time.Sleep(5 * time.Millisecond) // the publisher runs; nothing to await
	}
	runA.cancel()
	sinkA.SetBlocked(false)
	if err := runA.wait(t); err != nil {
		t.Fatalf("member a: Run = %v", err)
	}
	for from, deadline := pub.count(), time.Now().Add(10*time.Second); pub.count() < from+1000; {
		if time.Now().After(deadline) {
			t.Fatalf("within 10s after the stop: %d published", pub.count())
		}
		time.Sleep(5 * time.Millisecond) // the other member takes what is published now
	}
	published := pub.stop(t)

	received := func() map[int]int {
		seen := map[int]int{}
		for _, sink := range []*pipelinetest.MemSink{sinkA, sinkB} {
			for _, m := range sink.Messages() {
				var v struct{ ID int }
				if err := json.Unmarshal(m.Value, &v); err != nil {
					t.Fatalf("message %s: %v", m.Value, err)
				}
				seen[v.ID]++
			}
		}
		return seen
	}
	var seen map[int]int
	for deadline := time.Now().Add(10 * time.Second); ; {
		seen = received()
		if len(seen) >= published || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // the other member writes what it receives
	}
	st := ssStreamStats(f.emu, "boiler_data")
	got := uint64(sinkA.Count() + sinkB.Count())
	missing, dups := 0, 0
	for id := range published {
		switch seen[id] {
		case 0:
			missing++
		case 1:
		default:
			dups++
		}
	}
	t.Logf("published %d; emulator delivered %d, dropped %d, unrouted %d; sinks hold %d (a %d, b %d)",
		published, st.Delivered, st.Dropped, st.Unrouted, got, sinkA.Count(), sinkB.Count())
	if st.Delivered > got {
		t.Errorf("%d message(s) the server sent were never delivered", st.Delivered-got)
	}
	if st.Dropped != 0 || st.Unrouted != 0 {
		t.Errorf("the emulator dropped %d and could route %d to nobody, want 0 and 0", st.Dropped, st.Unrouted)
	}
	if missing != 0 || dups != 0 {
		t.Errorf("%d of %d published ids are in no sink, %d in more than one; want 0, 0", missing, published, dups)
	}
}

// idPublisher publishes {"id":N} messages, N from 0 up, in batches of 10 until stopped.
type idPublisher struct {
	mu     sync.Mutex
	n      int
	err    error
	cancel func()
	done   chan struct{}
}

func startIDPublisher(t *testing.T, f *ssFixture) *idPublisher {
	ctx, cancel := context.WithCancel(context.Background())
	p := &idPublisher{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for ctx.Err() == nil {
			p.mu.Lock()
			from := p.n
			p.mu.Unlock()
			batch := make([][]byte, 10)
			for i := range batch {
				batch[i] = fmt.Appendf(nil, `{"id":%d}`, from+i)
			}
			if err := f.client.PublishBatch(context.Background(), "boiler_data", batch); err != nil {
				p.mu.Lock()
				p.err = err
				p.mu.Unlock()
				return
			}
			p.mu.Lock()
			p.n += len(batch)
			p.mu.Unlock()
		}
	}()
	t.Cleanup(cancel)
	return p
}

func (p *idPublisher) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// stop stops publishing and returns how many messages were published (ids 0 to n-1).
func (p *idPublisher) stop(t *testing.T) int {
	t.Helper()
	p.cancel()
	<-p.done
	if p.err != nil {
		t.Fatalf("publish: %v", p.err)
	}
	return p.n
}

func ssStreamStats(emu *emulator.Server, stream string) emulator.StreamStats {
	for _, st := range emu.Stats().Streams {
		if st.Stream == stream {
			return st
		}
	}
	return emulator.StreamStats{}
}

package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/pipeline"
)

const labels = `direction="kafka_to_streamsea",pipeline="test"`

func TestNewRunnerRejectsInvalidOptions(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*pipeline.Options)
		want   string
	}{
		{"no name", func(o *pipeline.Options) { o.Name = "" }, "name is empty"},
		{"bad direction", func(o *pipeline.Options) { o.Direction = "sideways" }, `direction "sideways"`},
		{"no source", func(o *pipeline.Options) { o.Source = nil }, "no source"},
		{"no sink", func(o *pipeline.Options) { o.Sink = nil }, "no sink"},
		{"bad on_poison", func(o *pipeline.Options) { o.OnPoison = "ignore" }, `on_poison "ignore"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := newRig(0).opts
			c.modify(&opts)
			_, err := pipeline.NewRunner(opts)
			if !errors.Is(err, pipeline.ErrInvalidOptions) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("NewRunner = %v, want ErrInvalidOptions mentioning %q", err, c.want)
			}
		})
	}
}

func TestOrderPreservedAcrossRetries(t *testing.T) {
	const n = 1000
	rg := newRig(n)
	rg.sink.FailWrites(errors.New("503"), errors.New("timeout"), pipeline.ErrNotConnected, errors.New("reset"))
	run := rg.start(t)
	rg.waitSink(t, n)
	if !run.runner.Ready() {
		t.Error("Ready() = false while running connected")
	}
	if err := run.stop(); err != nil {
		t.Fatalf("Run = %v, want nil after a soft stop", err)
	}
	rg.checkInOrder(t, 0, n)
	rg.checkSettled(t, n, 0)
	if got := rg.sink.Connects(); got != 2 {
		t.Errorf("sink connected %d times, want 2 (initial + reconnect)", got)
	}
	rg.checkMetrics(t, `
		seabridge_pipeline_messages_in_total{`+labels+`} 1000
		seabridge_pipeline_messages_out_total{`+labels+`} 1000
		seabridge_pipeline_retries_total{`+labels+`} 4
		seabridge_pipeline_reconnects_total{`+labels+`,side="sink"} 1
		seabridge_pipeline_reconnects_total{`+labels+`,side="source"} 0
		seabridge_pipeline_errors_total{`+labels+`,stage="dead_letter"} 0
		seabridge_pipeline_errors_total{`+labels+`,stage="map"} 0
		seabridge_pipeline_errors_total{`+labels+`,stage="sink"} 4
		seabridge_pipeline_errors_total{`+labels+`,stage="source"} 0
		seabridge_pipeline_in_flight_messages{`+labels+`} 0
		seabridge_pipeline_up{`+labels+`} 0
		seabridge_pipeline_running{`+labels+`} 0
	`)
	if got := rg.histogramCount(t, "end_to_end_latency_seconds"); got != n {
		t.Errorf("end-to-end latency observed %d times, want %d", got, n)
	}
	if got := rg.histogramCount(t, "write_duration_seconds"); got != uint64(rg.sink.Writes()) {
		t.Errorf("write duration observed %d times, want one per Write (%d)", got, rg.sink.Writes())
	}
	if s := run.runner.Stats(); s.In != n || s.Out != n || s.Retries != 4 || s.Reconnects != 1 || s.Ready {
		t.Errorf("Stats = %+v", s)
	}
}

// poisonMapper fails messages whose value ends in 3 and passes the rest through.
func poisonMapper() pipeline.Mapper {
	return mapFunc(func(_ context.Context, in *pipeline.Message) ([]*pipeline.Message, error) {
		if strings.HasSuffix(string(in.Value), "3") {
			return nil, errors.New("mapper: no route")
		}
		return []*pipeline.Message{in}, nil
	})
}

// rejectSevens makes the sink reject messages whose value ends in 7.
func rejectSevens(m *pipeline.Message) error {
	if strings.HasSuffix(string(m.Value), "7") {
		return errors.New("sink: schema mismatch")
	}
	return nil
}

func TestPoisonGoesToDeadLetterThenAcked(t *testing.T) {
	const n = 100
	rg := newRig(n)
	rg.opts.Mapper = poisonMapper()
	rg.opts.DeadLetter = rg.dl
	rg.sink.Reject(rejectSevens)
	rg.dl.Fail(errors.New("dlq broker down")) // retried, never lost
	run := rg.start(t)
	rg.waitSink(t, 80)
	if err := run.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	rg.checkSettled(t, n, 0)
	msgs, reasons := rg.dl.Messages()
	if len(msgs) != 20 {
		t.Fatalf("dead-lettered %d messages, want 20", len(msgs))
	}
	for i, m := range msgs {
		v := string(m.Value)
		switch {
		case strings.HasSuffix(v, "3") && reasons[i].Error() == "mapper: no route":
		case strings.HasSuffix(v, "7") && reasons[i].Error() == "sink: schema mismatch":
		default:
			t.Errorf("dead-lettered %s with reason %v", v, reasons[i])
		}
	}
	rg.checkMetrics(t, `
		seabridge_pipeline_messages_out_total{`+labels+`} 80
		seabridge_pipeline_messages_dead_lettered_total{`+labels+`} 20
		seabridge_pipeline_errors_total{`+labels+`,stage="dead_letter"} 1
		seabridge_pipeline_errors_total{`+labels+`,stage="map"} 10
		seabridge_pipeline_errors_total{`+labels+`,stage="sink"} 0
		seabridge_pipeline_errors_total{`+labels+`,stage="source"} 0
	`)
}

func TestPoisonWithoutDeadLetter(t *testing.T) {
	t.Run("stop", func(t *testing.T) {
		rg := newRig(20)
		rg.sink.Reject(rejectSevens)
		run := rg.start(t)
		err := run.wait()
		if !errors.Is(err, pipeline.ErrPoisonMessage) ||
			!strings.Contains(err.Error(), `topic "in" partition 0 offset 7`) ||
			!strings.Contains(err.Error(), "schema mismatch") {
			t.Fatalf("Run = %v, want ErrPoisonMessage naming offset 7 and the reason", err)
		}
		if rg.log.Nacks() == 0 || rg.log.DoubleAcks() != 0 || rg.log.Unsettled() != 0 {
			t.Errorf("nacks %d, double acks %d, unsettled %d; want >0, 0, 0",
				rg.log.Nacks(), rg.log.DoubleAcks(), rg.log.Unsettled())
		}
		if rg.log.Committed() > 7 {
			t.Errorf("committed offset %d, want the poison message (7) not acked", rg.log.Committed())
		}
		if rg.src.Closes() != 1 || rg.sink.Closes() != 1 {
			t.Errorf("closes: source %d, sink %d; want 1, 1", rg.src.Closes(), rg.sink.Closes())
		}
	})
	t.Run("drop", func(t *testing.T) {
		rg := newRig(20)
		rg.opts.OnPoison = pipeline.OnPoisonDrop
		rg.sink.Reject(rejectSevens)
		run := rg.start(t)
		rg.waitSink(t, 18)
		if err := run.stop(); err != nil {
			t.Fatalf("Run = %v", err)
		}
		rg.checkSettled(t, 20, 0)
		rg.checkMetrics(t, `seabridge_pipeline_messages_dropped_total{`+labels+`} 2`)
	})
}

func TestMapperFanOutAndFilter(t *testing.T) {
	const n = 30
	rg := newRig(n)
	rg.opts.BatchSize = 4 // fan-out spans batches
	rg.opts.DeadLetter = rg.dl
	rg.opts.Mapper = mapFunc(func(_ context.Context, in *pipeline.Message) ([]*pipeline.Message, error) {
		switch in.Offset % 3 {
		case 0: // filtered
			return nil, nil
		case 1: // three outputs, the last rejected by the sink
			out := make([]*pipeline.Message, 3)
			for i := range out {
				out[i] = in.Clone()
				out[i].Value = fmt.Appendf(nil, "%s/%d", in.Value, i)
			}
			return out, nil
		default:
			return []*pipeline.Message{in}, nil
		}
	})
	rg.sink.Reject(func(m *pipeline.Message) error {
		if strings.HasSuffix(string(m.Value), "/2") {
			return errors.New("rejected")
		}
		return nil
	})
	run := rg.start(t)
	rg.waitSink(t, 10*2+10)
	if err := run.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	rg.checkSettled(t, n, 0)
	msgs, _ := rg.dl.Messages()
	if len(msgs) != 10 {
		t.Errorf("dead-lettered %d fan-out outputs, want 10", len(msgs))
	}
	if s := run.runner.Stats(); s.Filtered != 10 || s.Out != 30 || s.DeadLettered != 10 || s.InFlight != 0 {
		t.Errorf("Stats = %+v; want 10 filtered, 30 out, 10 dead-lettered, 0 in flight", s)
	}
	rg.checkMetrics(t, `seabridge_pipeline_messages_filtered_total{`+labels+`} 10`)
}

func TestSourceReconnects(t *testing.T) {
	const n = 50
	rg := newRig(n)
	rg.src.FailReads(1, fmt.Errorf("socket closed: %w", pipeline.ErrNotConnected))
	rg.src.FailConnects() // first connect succeeds; the reconnect below fails once
	run := rg.start(t)
	rg.waitSink(t, n)
	rg.src.FailConnects(errors.New("refused"))
	rg.src.Disconnect()
	rg.log.Append([]byte("late"))
	rg.waitSink(t, n+1)
	if err := run.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	rg.checkInOrder(t, 0, n+1)
	rg.checkSettled(t, n+1, 0)
	if got := rg.src.Connects(); got != 3 {
		t.Errorf("source connected %d times, want 3", got)
	}
	rg.checkMetrics(t, `
		seabridge_pipeline_reconnects_total{`+labels+`,side="sink"} 0
		seabridge_pipeline_reconnects_total{`+labels+`,side="source"} 2
	`)
}

func TestFatalErrorsStopTheRunner(t *testing.T) {
	fatal := fmt.Errorf("%w: bad credentials", pipeline.ErrFatal)
	cases := []struct {
		name   string
		inject func(*rig)
		nacks  bool
	}{
		{"sink write", func(rg *rig) { rg.sink.FailWrites(errors.New("503"), fatal) }, true},
		{"sink connect", func(rg *rig) { rg.sink.FailConnects(errors.New("refused"), fatal) }, false},
		{"source connect", func(rg *rig) { rg.src.FailConnects(fatal) }, false},
		{"source read", func(rg *rig) { rg.src.FailReads(1, fatal) }, false},
		{"dead letter", func(rg *rig) {
			rg.opts.DeadLetter = rg.dl
			rg.sink.Reject(rejectSevens)
			rg.dl.Fail(fatal)
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rg := newRig(20)
			c.inject(rg)
			run := rg.start(t)
			err := run.wait()
			if !errors.Is(err, pipeline.ErrFatal) || !strings.Contains(err.Error(), "bad credentials") {
				t.Fatalf("Run = %v, want the fatal error", err)
			}
			if rg.log.DoubleAcks() != 0 || rg.log.Unsettled() != 0 {
				t.Errorf("double acks %d, unsettled %d; want 0, 0", rg.log.DoubleAcks(), rg.log.Unsettled())
			}
			if c.nacks && rg.log.Nacks() == 0 {
				t.Error("nothing nacked, want the unwritten messages nacked")
			}
			if rg.src.Closes() != 1 || rg.sink.Closes() != 1 {
				t.Errorf("closes: source %d, sink %d; want 1, 1", rg.src.Closes(), rg.sink.Closes())
			}
		})
	}
}

// TestDeadLetterRefusalStopsTheRunner: a dead-letter destination that refuses a message for
// good (a *PoisonError) stops the runner at once, naming the message and both reasons, instead
// of being retried forever with everything behind it waiting.
func TestDeadLetterRefusalStopsTheRunner(t *testing.T) {
	rg := newRig(20)
	rg.opts.DeadLetter = rg.dl
	rg.sink.Reject(rejectSevens)
	refusal := &pipeline.PoisonError{Errs: map[int]error{0: errors.New("record too large for the dead-letter topic")}}
	refusals := make([]error, 50)
	for i := range refusals {
		refusals[i] = refusal
	}
	rg.dl.Fail(refusals...)
	run := rg.start(t)
	err := run.wait()
	if !errors.Is(err, pipeline.ErrDeadLetterRefused) || !strings.Contains(err.Error(), `offset 7`) ||
		!strings.Contains(err.Error(), "schema mismatch") || !strings.Contains(err.Error(), "too large for the dead-letter topic") {
		t.Fatalf("Run = %v, want ErrDeadLetterRefused naming offset 7 and both reasons", err)
	}
	if calls := rg.dl.Calls(); calls != 1 {
		t.Errorf("DeadLetter called %d times, want 1: a refusal for good is not retried", calls)
	}
	if rg.log.DoubleAcks() != 0 || rg.log.Unsettled() != 0 || rg.log.Committed() > 7 {
		t.Errorf("double acks %d, unsettled %d, committed %d; want 0, 0, at most 7",
			rg.log.DoubleAcks(), rg.log.Unsettled(), rg.log.Committed())
	}
}

func TestSoftShutdownFlushesPartialBatch(t *testing.T) {
	const n = 7
	rg := newRig(n)
	rg.opts.BatchSize = 100
	rg.opts.Linger = time.Hour // only the shutdown flush can write these
	mapper, seen := seenMapper(n)
	rg.opts.Mapper = mapper
	run := rg.start(t)
	await(t, seen, "the runner to read every message")
	if got := rg.sink.Count(); got != 0 {
		t.Fatalf("sink holds %d messages before shutdown, want 0 (partial batch, long linger)", got)
	}
	if err := run.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	rg.checkInOrder(t, 0, n)
	rg.checkSettled(t, n, 0)
}

func TestShutdownBudgetExpiryNacksTheRest(t *testing.T) {
	const n = 25
	rg := newRig(n)
	rg.opts.ShutdownTimeout = 50 * time.Millisecond
	mapper, seen := seenMapper(n)
	rg.opts.Mapper = mapper
	rg.sink.SetBlocked(true) // a backend that never answers
	run := rg.start(t)
	await(t, seen, "the runner to read every message")
	err := run.stop()
	if !errors.Is(err, pipeline.ErrShutdownTimeout) {
		t.Fatalf("Run = %v, want ErrShutdownTimeout", err)
	}
	rg.checkSettled(t, 0, n)
	rg.checkMetrics(t, `
		seabridge_pipeline_messages_nacked_total{`+labels+`} 25
		seabridge_pipeline_in_flight_messages{`+labels+`} 0
	`)
}

func TestLingerFlushesPartialBatch(t *testing.T) {
	const n = 3
	rg := newRig(n)
	rg.opts.BatchSize = 100
	rg.opts.Linger = 10 * time.Millisecond
	run := rg.start(t)
	rg.waitSink(t, n) // only the linger can flush while running
	if err := run.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if got := rg.sink.Writes(); got != 1 {
		t.Errorf("sink written %d times, want one partial batch", got)
	}
}

// readyWhenLingerEnds is a source that always has a message ready: every second Read waits
// for its context to end (a batch's linger) and returns a message all the same, as a source
// does that hands out what it holds whatever its context. It counts the Reads called with a
// context that had already ended.
type readyWhenLingerEnds struct {
	next     atomic.Int64
	lateRead atomic.Int64
}

func (s *readyWhenLingerEnds) Connect(context.Context) error { return nil }
func (s *readyWhenLingerEnds) Close(context.Context) error   { return nil }

func (s *readyWhenLingerEnds) Read(ctx context.Context) (*pipeline.Message, pipeline.AckFunc, error) {
	if ctx.Err() != nil {
		s.lateRead.Add(1)
	}
	i := s.next.Add(1) - 1
	if i%2 == 1 {
		<-ctx.Done()
	}
	return &pipeline.Message{Topic: "t", Offset: i, Value: []byte("v")},
		func(context.Context, error) error { return nil }, nil
}

// TestLingerFlushesWhileTheSourceKeepsReturning: a batch whose linger ends is flushed even
// when the source still returns messages; the source is never read with an ended linger.
func TestLingerFlushesWhileTheSourceKeepsReturning(t *testing.T) {
	rg := newRig(0)
	src := &readyWhenLingerEnds{}
	rg.opts.Source = src
	rg.opts.BatchSize = 1000
	rg.opts.Linger = 5 * time.Millisecond
	run := rg.start(t)
	rg.waitSink(t, 10)
	if err := run.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if n := src.lateRead.Load(); n > 1 { // the read under way at the stop may see it
		t.Errorf("Read was called %d times with an ended context, want at most once", n)
	}
	if writes, count := rg.sink.Writes(), rg.sink.Count(); writes < count/2 {
		t.Errorf("%d messages written in %d batches: the linger did not flush the batches of two", count, writes)
	}
}

func TestBatchLimits(t *testing.T) {
	cases := []struct {
		name       string
		size       int
		bytes      int
		wantWrites int
	}{
		{"by count", 10, 1 << 20, 5},
		{"by bytes", 100, 6 * 10, 5}, // values are 6 bytes: m-0000
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rg := newRig(50)
			rg.opts.BatchSize, rg.opts.BatchBytes = c.size, c.bytes
			rg.opts.Linger = time.Hour
			mapper, seen := seenMapper(50)
			rg.opts.Mapper = mapper
			run := rg.start(t)
			await(t, seen, "the runner to read every message")
			rg.waitSink(t, 50)
			if err := run.stop(); err != nil {
				t.Fatalf("Run = %v", err)
			}
			if got := rg.sink.Writes(); got != c.wantWrites {
				t.Errorf("sink written %d times, want %d", got, c.wantWrites)
			}
		})
	}
}

func TestRunTwice(t *testing.T) {
	rg := newRig(0)
	run := rg.start(t)
	if err := run.stop(); err != nil {
		t.Fatal(err)
	}
	if err := run.runner.Run(context.Background()); !errors.Is(err, pipeline.ErrAlreadyStarted) {
		t.Fatalf("second Run = %v, want ErrAlreadyStarted", err)
	}
}

func TestStopWhileConnecting(t *testing.T) {
	rg := newRig(1)
	rg.sink.FailConnects(errors.New("1"), errors.New("2"), errors.New("3"), errors.New("4"))
	rg.opts.Retry.Initial, rg.opts.Retry.Max = time.Hour, time.Hour
	run := rg.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for rg.sink.Writes() == 0 && run.runner.Stats().Errors == 0 && ctx.Err() == nil {
		time.Sleep(time.Millisecond) // bounded poll: the first connect attempt has no signal
	}
	if err := run.stop(); err != nil {
		t.Fatalf("Run = %v, want nil when stopped while connecting", err)
	}
	if run.runner.Ready() {
		t.Error("Ready() = true after Run returned")
	}
}

package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/seabridge/seabridge/internal/backoff"
	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/pipeline/pipelinetest"
)

// rig is one runner over an in-memory log, sink and dead-letter destination.
type rig struct {
	log  *pipelinetest.MemLog
	src  *pipelinetest.MemSource
	sink *pipelinetest.MemSink
	dl   *pipelinetest.MemDeadLetter
	reg  *prometheus.Registry
	opts pipeline.Options
}

// newRig returns a rig whose log holds n messages with values m-0000, m-0001, ...
func newRig(n int) *rig {
	log := pipelinetest.NewMemLog("in")
	for i := 0; i < n; i++ {
		log.Append([]byte(fmt.Sprintf("m-%04d", i)))
	}
	rg := &rig{
		log:  log,
		src:  pipelinetest.NewMemSource(log),
		sink: pipelinetest.NewMemSink(),
		dl:   &pipelinetest.MemDeadLetter{},
		reg:  prometheus.NewRegistry(),
	}
	rg.opts = pipeline.Options{
		Name:      "test",
		Direction: pipeline.DirectionKafkaToStreamSea,
		Source:    rg.src,
		Sink:      rg.sink,
		BatchSize: 10,
		Linger:    time.Millisecond,
		Retry:     backoff.Policy{Initial: time.Millisecond, Max: 4 * time.Millisecond},
		Metrics:   pipeline.NewMetrics(rg.reg),
	}
	return rg
}

// running is a started runner.
type running struct {
	t      *testing.T
	runner *pipeline.Runner
	cancel context.CancelFunc
	done   chan error
}

func (rg *rig) start(t *testing.T) *running {
	t.Helper()
	r, err := pipeline.NewRunner(rg.opts)
	if err != nil {
		t.Fatalf("NewRunner: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	run := &running{t: t, runner: r, cancel: cancel, done: make(chan error, 1)}
	go func() { run.done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		run.wait()
	})
	return run
}

// wait returns Run's result, failing the test if it does not return within 10 s.
func (run *running) wait() error {
	run.t.Helper()
	select {
	case err := <-run.done:
		run.done <- err // keep it for a later wait
		return err
	case <-time.After(10 * time.Second):
		run.t.Fatal("Run did not return within 10s")
		return nil
	}
}

// stop cancels the runner's context and returns Run's result.
func (run *running) stop() error {
	run.cancel()
	return run.wait()
}

// waitSink waits until the sink holds n messages.
func (rg *rig) waitSink(t *testing.T, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rg.sink.WaitCount(ctx, n); err != nil {
		t.Fatalf("sink holds %d messages, want %d: %v", rg.sink.Count(), n, err)
	}
}

// checkSettled checks that every delivery of the log was settled exactly once, with acked
// acks and nacks nacks.
func (rg *rig) checkSettled(t *testing.T, acked, nacks int) {
	t.Helper()
	if got := rg.log.DoubleAcks(); got != 0 {
		t.Errorf("%d messages were settled more than once", got)
	}
	if got := rg.log.Unsettled(); got != 0 {
		t.Errorf("%d deliveries were never acked or nacked", got)
	}
	if got := rg.log.Acked(); got != acked {
		t.Errorf("acked %d messages, want %d", got, acked)
	}
	if got := rg.log.Nacks(); got != nacks {
		t.Errorf("nacked %d messages, want %d", got, nacks)
	}
}

// checkInOrder checks that the sink holds exactly the log's offsets from..to-1, in order.
func (rg *rig) checkInOrder(t *testing.T, from, to int64) {
	t.Helper()
	msgs := rg.sink.Messages()
	if len(msgs) != int(to-from) {
		t.Fatalf("sink holds %d messages, want %d", len(msgs), to-from)
	}
	for i, m := range msgs {
		if m.Offset != from+int64(i) {
			t.Fatalf("sink message %d has offset %d, want %d (reordered, skipped or duplicated)",
				i, m.Offset, from+int64(i))
		}
	}
}

// checkMetrics compares the metric families named in want (lines of the text exposition
// format, e.g. `seabridge_pipeline_up{direction="d",pipeline="p"} 1`) with the rig's
// registry; every series of those families must be listed.
func (rg *rig) checkMetrics(t *testing.T, want string) {
	t.Helper()
	mfs, err := rg.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, mf := range mfs {
		kinds[mf.GetName()] = "# HELP " + mf.GetName() + " " + mf.GetHelp() + "\n# TYPE " +
			mf.GetName() + " " + strings.ToLower(mf.GetType().String()) + "\n"
	}
	lines := map[string][]string{}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(want), "\n") {
		line = strings.TrimSpace(line)
		name, _, _ := strings.Cut(line, "{")
		if _, ok := lines[name]; !ok {
			names = append(names, name)
		}
		lines[name] = append(lines[name], line)
	}
	var b strings.Builder
	for _, name := range names {
		b.WriteString(kinds[name])
		b.WriteString(strings.Join(lines[name], "\n") + "\n")
	}
	if err := testutil.GatherAndCompare(rg.reg, strings.NewReader(b.String()), names...); err != nil {
		t.Error(err)
	}
}

// histogramCount returns the sample count of the histogram name with the rig's labels.
func (rg *rig) histogramCount(t *testing.T, name string) uint64 {
	t.Helper()
	mfs, err := rg.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "seabridge_pipeline_"+name {
			var n uint64
			for _, m := range mf.GetMetric() {
				n += m.GetHistogram().GetSampleCount()
			}
			return n
		}
	}
	return 0
}

// mapFunc adapts a function to pipeline.Mapper.
type mapFunc func(ctx context.Context, in *pipeline.Message) ([]*pipeline.Message, error)

func (f mapFunc) Map(ctx context.Context, in *pipeline.Message) ([]*pipeline.Message, error) {
	return f(ctx, in)
}

// seenMapper is the identity mapper that closes reached once it has mapped n messages.
func seenMapper(n int64) (pipeline.Mapper, <-chan struct{}) {
	var seen atomic.Int64
	reached := make(chan struct{})
	return mapFunc(func(_ context.Context, in *pipeline.Message) ([]*pipeline.Message, error) {
		if seen.Add(1) == n {
			close(reached)
		}
		return []*pipeline.Message{in}, nil
	}), reached
}

func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

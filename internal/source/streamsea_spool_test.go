package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seabridge/seabridge/internal/backoff"
	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/spool"
)

// spooledRig is a spooled stream-sea source over the fixture's emulator.
type spooledRig struct {
	f   *ssFixture
	dir string
	reg *prometheus.Registry
	sm  *spool.Metrics
	// spool is the spool's options but Dir (default MaxBytes 64 MiB).
	spool spool.Options
}

func newSpooledRig(t *testing.T) *spooledRig {
	f := newSSFixture(t)
	reg := prometheus.NewRegistry()
	return &spooledRig{f: f, dir: t.TempDir(), reg: reg, sm: spool.NewMetrics(reg)}
}

// source builds a spooled source (not connected); secret is the websocket's client secret.
func (r *spooledRig) source(t *testing.T, secret string, drainFor time.Duration) *SpooledStreamSea {
	t.Helper()
	// The websocket source may hold only 10 messages: the intake must ack each once spooled.
	inner, err := NewStreamSea(r.f.options(secret, 10), slog.New(slog.NewTextHandler(io.Discard, nil)), r.f.metrics)
	if err != nil {
		t.Fatal(err)
	}
	opts := r.spool
	opts.Dir = r.dir
	if opts.MaxBytes == 0 {
		opts.MaxBytes = 64 << 20
	}
	src := NewSpooledStreamSea(inner, SpooledStreamSeaOptions{
		Pipeline: "boiler",
		Spool:    opts,
		Retry:    backoff.Policy{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		DrainFor: drainFor,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)), r.sm)
	t.Cleanup(func() { _ = src.Close(context.Background()) })
	return src
}

// connect connects src and waits until its websocket is subscribed.
func (r *spooledRig) connect(t *testing.T, src *SpooledStreamSea) {
	t.Helper()
	if err := src.Connect(context.Background()); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !src.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("the websocket did not connect")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func readSpooled(t *testing.T, src *SpooledStreamSea, n int) []ssRead {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out []ssRead
	for len(out) < n {
		m, ack, err := src.Read(ctx)
		if err != nil {
			t.Fatalf("Read after %d messages: %v", len(out), err)
		}
		out = append(out, ssRead{m, ack})
	}
	return out
}

func numberedValues(from, to int) []string {
	var v []string
	for i := from; i < to; i++ {
		v = append(v, fmt.Sprintf(`{"n":%d}`, i))
	}
	return v
}

func TestSpooledStreamSeaReadsThroughTheSpoolInOrder(t *testing.T) {
	ssVerifyNoLeaks(t)
	r := newSpooledRig(t)
	src := r.source(t, "s3cret", time.Second)
	r.connect(t, src)
	before := time.Now()
	r.f.publish(t, numberedValues(0, 20)...)
	for i, d := range readSpooled(t, src, 20) {
		if want := fmt.Sprintf(`{"n":%d}`, i); string(d.msg.Value) != want || d.msg.Stream != "boiler_data" {
			t.Fatalf("message %d: %s %s, want boiler_data %s", i, d.msg.Stream, d.msg.Value, want)
		}
		if d.msg.ReceivedAt.Before(before.Add(-time.Second)) || !d.msg.Time.Equal(d.msg.ReceivedAt) {
			t.Fatalf("message %d: received at %v", i, d.msg.ReceivedAt)
		}
		if err := d.ack(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSpooledStreamSeaKeepsReadingTheWebsocketWhileNothingIsWritten(t *testing.T) {
	r := newSpooledRig(t)
	src := r.source(t, "s3cret", time.Second)
	r.connect(t, src)
	r.f.publish(t, numberedValues(0, 500)...)
	deadline := time.Now().Add(5 * time.Second)
	for r.spoolRecords() < 500 {
		if time.Now().After(deadline) {
			t.Fatalf("%v of 500 messages spooled while nothing reads the pipeline", r.spoolRecords())
		}
		time.Sleep(5 * time.Millisecond)
	}
	got := readSpooled(t, src, 500)
	if string(got[499].msg.Value) != `{"n":499}` {
		t.Fatalf("last message %s", got[499].msg.Value)
	}
}

func (r *spooledRig) spoolRecords() float64 {
	return r.metric("seabridge_spool_appended_records_total")
}

// metric sums the family name over its series.
func (r *spooledRig) metric(name string) float64 {
	mfs, _ := r.reg.Gather()
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func TestSpooledStreamSeaHandsOutWhatWasNotAckedAgainAfterReopening(t *testing.T) {
	r := newSpooledRig(t)
	first := r.source(t, "s3cret", time.Second)
	r.connect(t, first)
	r.f.publish(t, numberedValues(0, 10)...)
	got := readSpooled(t, first, 10)
	for i, d := range got {
		var err error
		switch i {
		case 5, 6: // never settled
			continue
		case 8:
			err = errors.New("nack")
		}
		if aerr := d.ack(context.Background(), err); aerr != nil {
			t.Fatal(aerr)
		}
	}
	if err := first.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	second := r.source(t, "s3cret", time.Second)
	r.connect(t, second)
	again := readSpooled(t, second, 5) // 5, 6, then 7 (acked beyond the cursor), 8 (nacked), 9
	var values []string
	for _, d := range again {
		values = append(values, string(d.msg.Value))
	}
	want := numberedValues(5, 10)
	if fmt.Sprint(values) != fmt.Sprint(want) {
		t.Fatalf("after reopening read %v, want %v", values, want)
	}
}

func TestSpooledStreamSeaReturnsAFatalWebsocketErrorFromRead(t *testing.T) {
	r := newSpooledRig(t)
	src := r.source(t, "wrong-secret", time.Second)
	if err := src.Connect(context.Background()); err != nil {
		t.Fatalf("Connect must not wait for the websocket: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	select {
	case <-src.Failed():
	case <-ctx.Done():
		t.Fatal("Failed is not closed after the credentials were refused")
	}
	_, _, err := src.Read(ctx)
	if !errors.Is(err, pipeline.ErrFatal) || src.Failure() != err {
		t.Fatalf("Read with refused credentials: %v, Failure %v; want the same ErrFatal", err, src.Failure())
	}
}

// A message counts as received once it is in the spool: with the spool full (when_full =
// "block") and nothing reading it, the messages the intake took from the websocket and waits
// to append are not counted.
func TestSpooledStreamSeaCountsAMessageReceivedOnceSpooled(t *testing.T) {
	r := newSpooledRig(t)
	r.spool = spool.Options{MaxBytes: 2048, SegmentBytes: 512, WhenFull: spool.Block}
	src := r.source(t, "s3cret", time.Second)
	t.Cleanup(func() { // a failure leaves the intake waiting for room: do not wait for it
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = src.Close(ctx)
	})
	r.connect(t, src)
	r.f.publish(t, numberedValues(0, 200)...) // about 40 bytes each on disk: 50 fit
	received := func() float64 { return r.f.metric(r.f.metrics.received.WithLabelValues("boiler")) }
	deadline := time.Now().Add(5 * time.Second)
	for {
		w := src.inner.run.sub.Window()
		// The intake holds what it took (nothing queued), blocked appending the rest.
		if w.Held > int(r.spoolRecords()) && w.Queued == 0 && r.spoolRecords() > 0 && received() == r.spoolRecords() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %v, spooled %v, window %+v: want received = spooled while the intake waits for room",
				received(), r.spoolRecords(), w)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := r.spoolRecords(); n >= 200 {
		t.Fatalf("all %v spooled: the spool never filled", n)
	}
	for range 200 { // room again: the intake appends what it held, and the rest
		d := readSpooled(t, src, 1)[0]
		if err := d.ack(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	if received() != 200 || r.spoolRecords() != 200 {
		t.Fatalf("received %v, spooled %v after reading everything, want 200", received(), r.spoolRecords())
	}
}

// What the spool drops is lost before it reaches the pipeline: Undelivered counts it; what is
// left in the spool when it closes is Left.
func TestSpooledStreamSeaCountsDropsAsUndeliveredAndWhatStaysAsLeft(t *testing.T) {
	r := newSpooledRig(t)
	r.spool = spool.Options{MaxBytes: 2048, SegmentBytes: 512, WhenFull: spool.DropNewest}
	src := r.source(t, "s3cret", time.Second)
	r.connect(t, src)
	r.f.publish(t, numberedValues(0, 200)...)
	dropped := func() float64 {
		return r.metric("seabridge_spool_dropped_records_total")
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.spoolRecords()+dropped() < 200 {
		if time.Now().After(deadline) {
			t.Fatalf("spooled %v, dropped %v of 200", r.spoolRecords(), dropped())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if u := src.Undelivered(); u == 0 || float64(u) != dropped() {
		t.Fatalf("Undelivered %d, dropped %v: want the drops", u, dropped())
	}
	readSpooled(t, src, 3) // handed out, never settled: they stay in the spool
	if err := src.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if left := src.Left(); float64(left) != r.spoolRecords() || left == 0 {
		t.Fatalf("Left %d, want the %v spooled", left, r.spoolRecords())
	}
}

func TestSpooledStreamSeaDrainsWithinDrainFor(t *testing.T) {
	for _, tc := range []struct {
		name     string
		drainFor time.Duration
		want     int
	}{{"everything within the drain time", 5 * time.Second, 30}, {"nothing with no drain time", 0, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			r := newSpooledRig(t)
			src := r.source(t, "s3cret", tc.drainFor)
			r.connect(t, src)
			r.f.publish(t, numberedValues(0, 30)...)
			for r.spoolRecords() < 30 {
				time.Sleep(5 * time.Millisecond)
			}
			src.StopIntake()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			n := 0
			for {
				_, ack, err := src.Read(ctx)
				if errors.Is(err, pipeline.ErrDrained) {
					break
				}
				if err != nil {
					t.Fatalf("Read while draining: %v", err)
				}
				_ = ack(ctx, nil)
				n++
			}
			if n != tc.want {
				t.Fatalf("drained %d messages, want %d", n, tc.want)
			}
			if err := src.Close(ctx); err != nil {
				t.Fatal(err)
			}
			again := r.source(t, "s3cret", time.Second) // what was not drained is still there
			if err := again.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			if left := len(readAvailable(t, again)); left != 30-tc.want {
				t.Fatalf("%d messages left in the spool, want %d", left, 30-tc.want)
			}
		})
	}
}

// readAvailable reads until nothing comes for a short while.
func readAvailable(t *testing.T, src *SpooledStreamSea) []*pipeline.Message {
	t.Helper()
	var out []*pipeline.Message
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		m, _, err := src.Read(ctx)
		cancel()
		if err != nil {
			return out
		}
		out = append(out, m)
	}
}

func TestSpooledStreamSeaRefusesALockedSpool(t *testing.T) {
	r := newSpooledRig(t)
	first := r.source(t, "s3cret", time.Second)
	r.connect(t, first)
	second := r.source(t, "s3cret", time.Second)
	err := second.Connect(context.Background())
	if !errors.Is(err, pipeline.ErrFatal) || !errors.Is(err, spool.ErrLocked) {
		t.Fatalf("Connect of a second source on one spool dir: %v, want fatal ErrLocked", err)
	}
}

func TestSpooledRecordRoundTrip(t *testing.T) {
	at := time.Unix(1_700_000_000, 123456789)
	in := &pipeline.Message{Stream: "boiler_data", Value: []byte(`{"t":1}`), ReceivedAt: at}
	out, err := decodeSpooled(encodeSpooled(in))
	if err != nil || out.Stream != in.Stream || string(out.Value) != string(in.Value) || !out.ReceivedAt.Equal(at) || !out.Time.Equal(at) {
		t.Fatalf("round trip: %+v, %v", out, err)
	}
	for _, bad := range [][]byte{nil, {2}, {1}, {1, 50, 'a'}, {1, 1, 'a', 0, 0}} {
		if _, err := decodeSpooled(bad); err == nil {
			t.Errorf("decodeSpooled(%v) accepted", bad)
		}
	}
}

func FuzzDecodeSpooled(f *testing.F) {
	f.Add(encodeSpooled(&pipeline.Message{Stream: "s", Value: []byte("v"), ReceivedAt: time.Unix(1, 0)}))
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeSpooled(b)
		if err != nil {
			return
		}
		again := encodeSpooled(&m)
		if m2, err := decodeSpooled(again); err != nil || m2.Stream != m.Stream || string(m2.Value) != string(m.Value) {
			t.Fatalf("a decoded message does not survive encoding: %+v %v", m2, err)
		}
	})
}

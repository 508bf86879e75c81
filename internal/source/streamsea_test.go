package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/seabridge/seabridge/internal/backoff"
	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/streamsea"
	"github.com/seabridge/seabridge/internal/streamsea/emulator"
)

const ssGroup = "0d9c3f0e-2a7b-4c1d-9e8f-7a6b5c4d3e2f"

// ssVerifyNoLeaks checks, after every other cleanup of t, that t left no goroutine behind.
func ssVerifyNoLeaks(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

type ssFixture struct {
	emu     *emulator.Server
	client  *streamsea.Client
	metrics *StreamSeaMetrics
	reg     *prometheus.Registry
}

func newSSFixture(t *testing.T) *ssFixture {
	t.Helper()
	return newSSFixtureWith(t, emulator.Options{})
}

// newSSFixtureWith starts an emulator with opts and the client "bridge" (secret "s3cret").
func newSSFixtureWith(t *testing.T, opts emulator.Options) *ssFixture {
	t.Helper()
	opts.Clients = []emulator.Client{{ID: "bridge", Secret: "s3cret"}}
	emu, err := emulator.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	client, err := streamsea.NewClient(streamsea.ClientOptions{BaseURL: emu.URL(), ClientID: "bridge", ClientSecret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	return &ssFixture{emu: emu, client: client, metrics: NewStreamSeaMetrics(reg), reg: reg}
}

func (f *ssFixture) options(secret string, maxInFlight int) StreamSeaOptions {
	return StreamSeaOptions{
		Pipeline: "boiler",
		Subscriber: streamsea.SubscriberOptions{
			URL: f.emu.WSURL(), ClientID: "bridge", ClientSecret: secret,
			Subscriptions: []streamsea.Subscription{{Stream: "boiler_data", GroupID: ssGroup}},
			Backoff:       backoff.Policy{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond},
			DialTimeout:   2 * time.Second,
		},
		MaxInFlight: maxInFlight,
	}
}

func (f *ssFixture) source(t *testing.T, opts StreamSeaOptions) *StreamSea {
	t.Helper()
	src, err := NewStreamSea(opts, slog.New(slog.NewTextHandler(io.Discard, nil)), f.metrics)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close(context.Background()) })
	return src
}

func (f *ssFixture) publish(t *testing.T, values ...string) {
	t.Helper()
	payloads := make([][]byte, len(values))
	for i, v := range values {
		payloads[i] = []byte(v)
	}
	if err := f.client.PublishBatch(context.Background(), "boiler_data", payloads); err != nil {
		t.Fatal(err)
	}
}

func (f *ssFixture) metric(c prometheus.Collector) float64 { return testutil.ToFloat64(c) }

// gauge returns the value of the gauge family name for pipeline "boiler", failing the test
// when the series does not exist.
func (f *ssFixture) gauge(t *testing.T, name string) float64 {
	t.Helper()
	families, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range families {
		if fam.GetName() != name {
			continue
		}
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "pipeline" && l.GetValue() == "boiler" {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{pipeline=\"boiler\"} series", name)
	return 0
}

func ssConnect(t *testing.T, src *StreamSea) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := src.Connect(ctx); err != nil {
		t.Fatalf("Connect: %v", err)
	}
}

type ssRead struct {
	msg *pipeline.Message
	ack pipeline.AckFunc
}

func ssReadN(t *testing.T, src *StreamSea, n int) []ssRead {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out := make([]ssRead, 0, n)
	for range n {
		m, ack, err := src.Read(ctx)
		if err != nil {
			t.Fatalf("Read after %d messages: %v", len(out), err)
		}
		out = append(out, ssRead{m, ack})
	}
	return out
}

func TestStreamSeaReadsAndReleasesOnAck(t *testing.T) {
	ssVerifyNoLeaks(t)
	f := newSSFixture(t)
	src := f.source(t, f.options("s3cret", 0))
	ssConnect(t, src)
	if got := f.gauge(t, "seabridge_streamsea_ws_connected"); got != 1 {
		t.Fatalf("ws_connected = %v, want 1", got)
	}
	f.publish(t, `{"t":1}`, `{"t":2}`, `{"t":3}`)
	before := time.Now()
	got := ssReadN(t, src, 3)
	for i, r := range got {
		if want := fmt.Sprintf(`{"t":%d}`, i+1); string(r.msg.Value) != want || r.msg.Stream != "boiler_data" {
			t.Fatalf("message %d = %s %s, want boiler_data %s", i, r.msg.Stream, r.msg.Value, want)
		}
		if r.msg.ReceivedAt.IsZero() || r.msg.ReceivedAt.After(time.Now()) || !r.msg.Time.Equal(r.msg.ReceivedAt) {
			t.Fatalf("message %d times: received %v time %v (read after %v)", i, r.msg.ReceivedAt, r.msg.Time, before)
		}
	}
	if v := f.gauge(t, "seabridge_streamsea_in_flight_messages"); v != 3 {
		t.Fatalf("in_flight_messages = %v, want 3", v)
	}
	if v := f.gauge(t, "seabridge_streamsea_in_flight_bytes"); v != 21 {
		t.Fatalf("in_flight_bytes = %v, want the 21 payload bytes", v)
	}
	if age := f.gauge(t, "seabridge_streamsea_oldest_in_flight_age_seconds"); age <= 0 ||
		age > time.Since(got[0].msg.ReceivedAt).Seconds() {
		t.Fatalf("oldest_in_flight_age_seconds = %v, want the age of the first message", age)
	}
	_ = got[1].ack(context.Background(), nil)
	_ = got[0].ack(context.Background(), errors.New("nacked"))
	if v := f.gauge(t, "seabridge_streamsea_in_flight_messages"); v != 1 {
		t.Fatalf("in_flight_messages after 2 acks = %v, want 1", v)
	}
	if age := f.gauge(t, "seabridge_streamsea_oldest_in_flight_age_seconds"); age > time.Since(got[2].msg.ReceivedAt).Seconds() {
		t.Fatalf("oldest_in_flight_age_seconds = %v, want the age of the third message", age)
	}
	if err := got[1].ack(context.Background(), nil); !errors.Is(err, ErrStreamSeaAckedTwice) {
		t.Fatalf("second ack = %v, want ErrStreamSeaAckedTwice", err)
	}
	if v := f.metric(f.metrics.received.WithLabelValues("boiler")); v != 3 {
		t.Fatalf("received_messages_total = %v, want 3", v)
	}
	if err := src.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := src.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if v := f.metric(f.metrics.undelivered.WithLabelValues("boiler")); v != 1 {
		t.Fatalf("undelivered_messages_total = %v, want 1 (read, never acked)", v)
	}
	if v := f.gauge(t, "seabridge_streamsea_in_flight_messages"); v != 0 {
		t.Fatalf("in_flight_messages after Close = %v, want 0", v)
	}
	if _, _, err := src.Read(context.Background()); !errors.Is(err, pipeline.ErrNotConnected) {
		t.Fatalf("Read after Close = %v, want ErrNotConnected", err)
	}
	if err := src.Connect(context.Background()); !errors.Is(err, ErrStreamSeaClosed) {
		t.Fatalf("Connect after Close = %v, want ErrStreamSeaClosed", err)
	}
}

func TestStreamSeaBlocksAtMaxInFlight(t *testing.T) {
	ssVerifyNoLeaks(t)
	f := newSSFixture(t)
	src := f.source(t, f.options("s3cret", 2))
	ssConnect(t, src)
	for i := 1; i <= 3; i++ { // one frame each
		f.publish(t, fmt.Sprintf(`{"n":%d}`, i))
	}
	got := ssReadN(t, src, 2)
	if v := f.gauge(t, "seabridge_streamsea_in_flight_messages"); v != 2 {
		t.Fatalf("in_flight_messages = %v, want 2: the third frame must stay unread", v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, _, err := src.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read with 2 of 2 in flight = %v, want to block until the deadline", err)
	}
	_ = got[0].ack(context.Background(), nil)
	third := ssReadN(t, src, 1)
	if string(third[0].msg.Value) != `{"n":3}` {
		t.Fatalf("third message %s", third[0].msg.Value)
	}
}

func TestStreamSeaRefusedCredentialsAreFatal(t *testing.T) {
	ssVerifyNoLeaks(t)
	f := newSSFixture(t)
	src := f.source(t, f.options("wrong", 0))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := src.Connect(ctx)
	if !errors.Is(err, pipeline.ErrFatal) || !errors.Is(err, streamsea.ErrAuthFailed) {
		t.Fatalf("Connect = %v, want ErrFatal and ErrAuthFailed", err)
	}
	if !strings.Contains(err.Error(), `"bridge"`) || !strings.Contains(err.Error(), `"boiler"`) {
		t.Fatalf("error %q should name the client and the pipeline", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Connect waited for its deadline instead of failing at once")
	}
}

func TestStreamSeaConnectGivesUpAtDeadline(t *testing.T) {
	ssVerifyNoLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	f := newSSFixture(t)
	opts := f.options("s3cret", 0)
	opts.Subscriber.URL = "ws://" + addr
	src := f.source(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = src.Connect(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, pipeline.ErrFatal) {
		t.Fatalf("Connect = %v, want a non-fatal deadline error", err)
	}
	if !strings.Contains(err.Error(), "last error") {
		t.Fatalf("error %q does not say why connecting failed", err)
	}
}

func TestStreamSeaReconnectsAfterDrop(t *testing.T) {
	ssVerifyNoLeaks(t)
	f := newSSFixture(t)
	opts := f.options("s3cret", 0)
	connected := make(chan struct{}, 4)
	opts.Subscriber.Hooks.OnConnect = func() { connected <- struct{}{} }
	src := f.source(t, opts)
	ssConnect(t, src)
	<-connected
	f.publish(t, `{"before":1}`)
	ssReadN(t, src, 1)
	if n := f.emu.DropConnections(); n != 1 {
		t.Fatalf("dropped %d connections, want 1", n)
	}
	select {
	case <-connected:
	case <-time.After(5 * time.Second):
		t.Fatal("no reconnect within 5s")
	}
	f.publish(t, `{"after":1}`)
	if got := ssReadN(t, src, 1); string(got[0].msg.Value) != `{"after":1}` {
		t.Fatalf("after reconnect read %s", got[0].msg.Value)
	}
	if c, d := f.metric(f.metrics.connects.WithLabelValues("boiler")),
		f.metric(f.metrics.disconnects.WithLabelValues("boiler")); c != 2 || d != 1 {
		t.Fatalf("ws_connects_total = %v, ws_disconnects_total = %v, want 2 and 1", c, d)
	}
}

func TestStreamSeaReadReturnsOnCancel(t *testing.T) {
	ssVerifyNoLeaks(t)
	f := newSSFixture(t)
	src := f.source(t, f.options("s3cret", 0))
	ssConnect(t, src)
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 1)
	go func() {
		_, _, err := src.Read(ctx)
		errs <- err
	}()
	cancel()
	select {
	case err := <-errs:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Read = %v, want context.Canceled", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Read did not return after cancel")
	}
}

func TestNewStreamSeaRejectsBadOptions(t *testing.T) {
	f := &ssFixture{}
	opts := StreamSeaOptions{Pipeline: "p", Subscriber: streamsea.SubscriberOptions{
		URL: "ws://127.0.0.1:1", ClientID: "c", ClientSecret: "s",
		Subscriptions: []streamsea.Subscription{{Stream: "s", GroupID: "not-a-uuid"}},
	}}
	_, err := NewStreamSea(opts, slog.New(slog.NewTextHandler(io.Discard, nil)), f.metrics)
	if err == nil || !strings.Contains(err.Error(), `"p"`) || !strings.Contains(err.Error(), "UUID") {
		t.Fatalf("NewStreamSea = %v, want an error naming the pipeline and the bad group id", err)
	}
}

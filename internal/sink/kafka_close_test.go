package sink

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"

	"github.com/seabridge/seabridge/internal/kafkautil"
	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// closeMargin is how much longer than its context's deadline a Close may take: the time for
// the produce it abandons to notice its connection closed, on a loaded machine. Without a
// bound, closing waits for the produce in flight: up to MaxAttempts × WriteTimeout.
const closeMargin = time.Second

// hungBroker is a broker whose topics exist and that hangs (accepts connections, answers
// nothing) once Freeze is called; the returned settings reach it.
func hungBroker(t *testing.T, topics ...string) (kafkautil.Conn, *kafkatest.Gate) {
	t.Helper()
	brokers, gate := kafkatest.GatedBrokers(t, kfake.SeedTopics(1, topics...))
	t.Cleanup(gate.Thaw) // before the broker closes
	return kafkautil.Conn{Brokers: brokers, ClientID: "seabridge-test", DialTimeout: 2 * time.Second}, gate
}

// closeWithin calls closeFn with a context of budget and fails t when it takes longer than
// budget plus closeMargin. It returns closeFn's error.
func closeWithin(t *testing.T, budget time.Duration, closeFn func(context.Context) error) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	start := time.Now()
	err := closeFn(ctx)
	took := time.Since(start)
	t.Logf("Close took %v: %v", took.Round(time.Millisecond), err)
	if took > budget+closeMargin {
		t.Errorf("Close took %v with a %v deadline, want at most %v", took, budget, budget+closeMargin)
	}
	return err
}

// TestKafkaSinkCloseIsBoundedByItsContext closes a sink whose broker hung during a Write: the
// Write returns when its context ends, the produce goes on in kafka-go's Writer (10 s write
// timeout, 3 attempts), and Close gives up on it when its own context ends.
func TestKafkaSinkCloseIsBoundedByItsContext(t *testing.T) {
	verifyNoLeaks(t)
	conn, gate := hungBroker(t, "out")
	before := goleak.IgnoreCurrent()
	k := connectSink(t, KafkaOptions{Pipeline: "test", Conn: conn, Topic: "out"}, nil)
	if err := write(t, k, []*pipeline.Message{{Value: []byte("before")}}); err != nil {
		t.Fatalf("write before the hang: %v", err)
	}

	gate.Freeze()
	wctx, wcancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer wcancel()
	if err := k.Write(wctx, []*pipeline.Message{{Value: []byte("during")}}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("write to the hung broker = %v, want the context's deadline", err)
	}
	err := closeWithin(t, time.Second, k.Close)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, pipeline.ErrWriteAbandoned) ||
		!strings.Contains(err.Error(), "gave up on a produce in flight") {
		t.Errorf("Close = %v, want it to say it gave up on the produce in flight", err)
	}
	if err := k.Close(context.Background()); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	// The produce Close gave up on ends by itself, the broker still hung.
	goleak.VerifyNone(t, kafkatest.IgnoreHungBroker(before)...)
}

// TestDeadLetterCloseIsBoundedByItsContext is the same for the dead-letter writer, whose
// writer has kafka-go's default timeouts.
func TestDeadLetterCloseIsBoundedByItsContext(t *testing.T) {
	verifyNoLeaks(t)
	conn, gate := hungBroker(t, "dlq")
	before := goleak.IgnoreCurrent()
	d, _ := connectedDeadLetter(t, conn, 0)

	gate.Freeze()
	wctx, wcancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer wcancel()
	msgs := []*pipeline.Message{{Value: []byte("poison"), Topic: "in", Offset: 7}}
	if err := d.DeadLetter(wctx, msgs, []error{errors.New("bad")}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("dead-letter to the hung broker = %v, want the context's deadline", err)
	}
	if err := closeWithin(t, time.Second, d.Close); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want the context's deadline", err)
	}
	goleak.VerifyNone(t, kafkatest.IgnoreHungBroker(before)...)
}

// TestKafkaSinkCloseWithNothingInFlightIsQuick checks that bounding Close costs nothing when
// the broker answers: Close returns at once, with no error, even with its context over.
func TestKafkaSinkCloseWithNothingInFlightIsQuick(t *testing.T) {
	verifyNoLeaks(t)
	conn, _ := hungBroker(t, "out")
	k := connectSink(t, KafkaOptions{Pipeline: "test", Conn: conn, Topic: "out"}, nil)
	if err := write(t, k, []*pipeline.Message{{Value: []byte("v")}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := k.Close(ctx); err != nil {
		t.Errorf("Close = %v, want nil", err)
	}
}

package source

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"

	"github.com/seabridge/seabridge/internal/kafkautil"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// closeMargin is how much longer than its context's deadline a Close may take: the time for
// the calls it abandons to notice their connections closed, on a loaded machine. Without a
// bound a hung broker holds a Close for kafka-go's request timeouts (5 s and more).
const closeMargin = time.Second

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestKafkaSourceCloseIsBoundedByItsContext closes a source whose broker hangs (it accepts
// connections and answers nothing) while acked offsets wait to be committed: Close returns
// within its context's deadline plus a margin, says which offsets it could not commit (in its
// error and in the log), and once the broker answers again the group resumes from the offsets
// committed before: what was acked since is read again, nothing is skipped.
func TestKafkaSourceCloseIsBoundedByItsContext(t *testing.T) {
	verifyNoLeaks(t)
	brokers, gate := kafkatest.GatedBrokers(t, kfake.SeedTopics(2, "in"),
		kfake.GroupMinSessionTimeout(100*time.Millisecond))
	t.Cleanup(gate.Thaw) // before the broker closes
	conn := kafkautil.Conn{Brokers: brokers, ClientID: "seabridge-test", DialTimeout: 2 * time.Second}
	produce(t, conn, "in", 0, 0, 4)
	produce(t, conn, "in", 1, 4, 4)
	var logs syncBuffer
	before := goleak.IgnoreCurrent()
	k, err := NewKafka(testOptions(conn, "g-hang", "in"), slog.New(slog.NewTextHandler(&logs, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	connect(t, k)
	byPartition := map[int][]readResult{}
	for _, r := range readN(t, k, 8) {
		byPartition[r.msg.Partition] = append(byPartition[r.msg.Partition], r)
	}
	ackResults(t, byPartition[0][:2])
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := k.session().commitNow(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
	ackResults(t, byPartition[0][2:])
	ackResults(t, byPartition[1][:2])

	gate.Freeze()
	const budget = time.Second
	closeCtx, cancelClose := context.WithTimeout(context.Background(), budget)
	defer cancelClose()
	start := time.Now()
	err = k.Close(closeCtx)
	took := time.Since(start)
	t.Logf("Close took %v: %v", took.Round(time.Millisecond), err)
	if took > budget+closeMargin {
		t.Errorf("Close took %v with a %v deadline, want at most %v", took, budget, budget+closeMargin)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "in/0=4 in/1=2") {
		t.Errorf("Close = %v, want the offsets not committed (in/0=4 in/1=2) and the deadline", err)
	}
	line := regexp.MustCompile(`level=WARN msg="offsets not committed at close; the group reads again from the last committed offsets" .*offsets="in/0=4 in/1=2"`)
	if !line.MatchString(logs.String()) {
		t.Errorf("log lacks a line matching %s:\n%s", line, logs.String())
	}
	// The calls Close gave up on end by themselves, the broker still hung.
	goleak.VerifyNone(t, kafkatest.IgnoreHungBroker(before)...)

	gate.Thaw()
	if got := committedOffsets(t, conn, "g-hang", "in", 2); got[0] != 2 || got[1] != -1 {
		t.Errorf("committed %v after the hang, want [2 -1] (the commit before it)", got)
	}
	again := newConnected(t, testOptions(conn, "g-hang", "in"))
	first := map[int]int64{}
	for _, r := range readN(t, again, 6) {
		if _, seen := first[r.msg.Partition]; !seen {
			first[r.msg.Partition] = r.msg.Offset
		}
	}
	if first[0] != 2 || first[1] != 0 {
		t.Errorf("after the hang the group resumed at %v, want partition 0 at 2 and 1 at 0", first)
	}
	closeSource(t, again)
}

// TestKafkaSourceCloseWhileJoiningIsBounded closes a source whose broker hung while it was
// joining the group (kafka-go's join waits up to the rebalance timeout, and its leave has a
// timeout of its own): Close returns within its context's deadline plus a margin.
func TestKafkaSourceCloseWhileJoiningIsBounded(t *testing.T) {
	verifyNoLeaks(t)
	brokers, gate := kafkatest.GatedBrokers(t, kfake.SeedTopics(1, "in"),
		kfake.GroupMinSessionTimeout(100*time.Millisecond))
	t.Cleanup(gate.Thaw)
	conn := kafkautil.Conn{Brokers: brokers, ClientID: "seabridge-test", DialTimeout: 2 * time.Second}
	opts := testOptions(conn, "g-join", "in")
	opts.SessionTimeout, opts.RebalanceTimeout = 10*time.Second, 10*time.Second
	before := goleak.IgnoreCurrent()
	k := newConnected(t, opts) // the group is joined in the background
	gate.Freeze()

	const budget = 500 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	start := time.Now()
	err := k.Close(ctx)
	took := time.Since(start)
	t.Logf("Close took %v: %v", took.Round(time.Millisecond), err)
	if took > budget+closeMargin {
		t.Errorf("Close took %v with a %v deadline, want at most %v", took, budget, budget+closeMargin)
	}
	goleak.VerifyNone(t, kafkatest.IgnoreHungBroker(before)...)
}

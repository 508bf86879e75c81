package bridge_test

import (
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/streamsea/emulator"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// TestKafkaToStreamSeaHonoursRetryAfter throttles publishes with 429 and Retry-After: 1 while
// the pipeline's own backoff would wait 30 s or more: the bridge must retry after the second
// the server asked for, each time, and deliver everything.
func TestKafkaToStreamSeaHonoursRetryAfter(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	w := newWorld(t, brokers)
	topic := kafkatest.UniqueTopic(t, "retry-after")
	kafkatest.CreateTopic(t, brokers, topic, 1)
	p := k2sPipe("throttled", topic, kafkatest.UniqueTopic(t, "group"), "throttled")
	p.retryInitial, p.retryMax = "1m", "2m"
	sub := w.collect(p.stream)
	fault, err := w.emu.Server.AddFault(emulator.Fault{Kind: emulator.FaultError, Status: 429,
		RetryAfter: "1", Route: emulator.RoutePublish, Count: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := makeRecords("ra", 0, 50, 3)
	kafkatest.Produce(t, brokers, topic, kafkaMessages(want)...)
	start := time.Now()
	app := w.start("a", w.config(settings{}, p))
	sub.awaitIDs(t, want, 20*time.Second)
	if took := time.Since(start); took < 3*time.Second {
		t.Errorf("delivered after %v through three 429s asking for 1 s each, want at least 3 s", took)
	}
	if left := w.emu.Server.Faults(); len(left) != 0 {
		t.Errorf("fault %s not spent: %+v", fault.ID, left)
	}
	if err := app.stop(t); err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
	checkExactly(t, want, sub.snapshot())
}

package inspect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/kafkautil"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

const testTimeout = 30 * time.Second

// lines renders n JSON lines {"n":first+i}.
func lines(first, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "{\"n\":%d}\n", first+i)
	}
	return b.String()
}

// collector gathers what a tail prints.
type collector struct {
	mu   sync.Mutex
	recs []Record
}

func (c *collector) print(r Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recs = append(c.recs, r)
	return nil
}

func (c *collector) values() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, r := range c.recs {
		out = append(out, string(r.Value))
	}
	slices.Sort(out)
	return out
}

func sortedLines(first, n int) []string {
	out := strings.Split(strings.TrimSpace(lines(first, n)), "\n")
	slices.Sort(out)
	return out
}

func TestKafkaSendThenTail(t *testing.T) {
	kafkatest.ForEachBroker(t, func(t *testing.T, brokers []string) {
		conn := kafkautil.Conn{Brokers: brokers, DialTimeout: 5 * time.Second}
		topic := kafkatest.UniqueTopic(t, "inspect")
		kafkatest.CreateTopic(t, brokers, topic, 3)
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()

		n, err := SendKafka(ctx, conn, KafkaSend{Topic: topic, Key: []byte("k1"), Headers: []Header{{"h", []byte("v")}}},
			strings.NewReader(lines(0, 10)))
		if err != nil || n != 10 {
			t.Fatalf("SendKafka = %d, %v; want 10, nil", n, err)
		}
		var all collector
		if err := TailKafka(ctx, conn, KafkaTail{Topic: topic, FromBeginning: true, Count: 10}, all.print); err != nil {
			t.Fatal(err)
		}
		if got := all.values(); !slices.Equal(got, sortedLines(0, 10)) {
			t.Fatalf("tail from the beginning: %v", got)
		}
		for _, r := range all.recs {
			if *r.Key != "k1" || r.Headers["h"] != "v" || r.Topic != topic || r.Time == nil {
				t.Fatalf("record %+v: want key k1, header h=v, its topic and time", r)
			}
		}

		// Without --from-beginning: only what is produced once the tail is ready.
		var fresh collector
		ready := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- TailKafka(ctx, conn, KafkaTail{Topic: topic, Count: 2, Ready: func() { close(ready) }}, fresh.print)
		}()
		<-ready
		if _, err := SendKafka(ctx, conn, KafkaSend{Topic: topic}, strings.NewReader(lines(10, 2))); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := fresh.values(); !slices.Equal(got, sortedLines(10, 2)) {
			t.Fatalf("tail of new records: %v, want only the 2 sent once it was ready", got)
		}

		// The tail output sent on with --records keeps keys and headers.
		copyTopic := kafkatest.UniqueTopic(t, "inspect-copy")
		kafkatest.CreateTopic(t, brokers, copyTopic, 1)
		var out strings.Builder
		for _, r := range all.recs[:3] {
			if err := (Printer{Out: &out, Format: FormatJSON}).Print(r); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := SendKafka(ctx, conn, KafkaSend{Topic: copyTopic, Records: true}, strings.NewReader(out.String())); err != nil || n != 3 {
			t.Fatalf("SendKafka --records = %d, %v", n, err)
		}
		var copied collector
		if err := TailKafka(ctx, conn, KafkaTail{Topic: copyTopic, FromBeginning: true, Count: 3}, copied.print); err != nil {
			t.Fatal(err)
		}
		for _, r := range copied.recs {
			if *r.Key != "k1" || r.Headers["h"] != "v" {
				t.Fatalf("copied record %+v lost its key or header", r)
			}
		}
	})
}

func TestKafkaTailWithAGroupCommits(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	conn := kafkautil.Conn{Brokers: brokers, DialTimeout: 5 * time.Second}
	topic := kafkatest.UniqueTopic(t, "inspect-group")
	kafkatest.CreateTopic(t, brokers, topic, 1)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := SendKafka(ctx, conn, KafkaSend{Topic: topic}, strings.NewReader(lines(0, 6))); err != nil {
		t.Fatal(err)
	}
	var first, second collector
	if err := TailKafka(ctx, conn, KafkaTail{Topic: topic, Group: "inspect-g", FromBeginning: true, Count: 4}, first.print); err != nil {
		t.Fatal(err)
	}
	if err := TailKafka(ctx, conn, KafkaTail{Topic: topic, Group: "inspect-g", FromBeginning: true, Count: 2}, second.print); err != nil {
		t.Fatal(err)
	}
	if got := append(first.values(), second.values()...); !slices.Equal(got, sortedLines(0, 6)) {
		t.Fatalf("two tails in one group read %v, want each record once", got)
	}
	if got := kafkatest.CommittedOffsets(t, brokers, "inspect-g", topic); got[0] != 6 {
		t.Fatalf("committed offsets %v, want 6 on partition 0", got)
	}
}

func TestKafkaMissingTopicAndUnreachable(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	conn := kafkautil.Conn{Brokers: brokers, DialTimeout: 5 * time.Second}
	if _, err := SendKafka(ctx, conn, KafkaSend{Topic: "no.such.topic"}, strings.NewReader("{}\n")); !errors.Is(err, kafkautil.ErrTopicMissing) ||
		!strings.Contains(err.Error(), "no.such.topic") {
		t.Errorf("SendKafka to a missing topic = %v, want ErrTopicMissing naming it", err)
	}
	if err := TailKafka(ctx, conn, KafkaTail{Topic: "no.such.topic"}, (&collector{}).print); !errors.Is(err, kafkautil.ErrTopicMissing) {
		t.Errorf("TailKafka of a missing topic = %v, want ErrTopicMissing", err)
	}
	dead := kafkautil.Conn{Brokers: []string{"127.0.0.1:1"}, DialTimeout: time.Second}
	if err := TailKafka(ctx, dead, KafkaTail{Topic: "t"}, (&collector{}).print); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("TailKafka of an unreachable broker = %v, want an error naming it", err)
	}
}

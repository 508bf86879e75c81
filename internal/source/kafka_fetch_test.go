package source

import (
	"context"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/seabridge/seabridge/internal/kafkautil"
)

// fetchRig runs one partitionFetcher of a bare session on kfake, with a dialer whose
// connections the test can break.
type fetchRig struct {
	t     *testing.T
	queue *deliveryQueue
	gen   *kafkaGeneration
	mu    sync.Mutex
	conns []net.Conn
}

func newFetchRig(t *testing.T, conn kafkautil.Conn) *fetchRig {
	rig := &fetchRig{t: t, queue: newDeliveryQueue(10_000, 1<<30)}
	dialer := &kafka.Dialer{Timeout: 2 * time.Second, DialFunc: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			rig.mu.Lock()
			rig.conns = append(rig.conns, c)
			rig.mu.Unlock()
		}
		return c, err
	}}
	opts := testOptions(conn, "unused", "t")
	if err := validateKafkaOptions(&opts); err != nil {
		t.Fatal(err)
	}
	s := &kafkaSession{opts: opts, logger: discardLogger(), dialer: dialer, queue: rig.queue}
	rig.gen = &kafkaGeneration{sess: s, parts: map[topicPartition]*partitionOffsets{}, live: true}
	return rig
}

// breakConns closes every connection dialled so far.
func (r *fetchRig) breakConns() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		_ = c.Close()
	}
	r.conns = nil
}

// next waits for n more fetched records and returns their values.
func (r *fetchRig) next(n int) []string {
	r.t.Helper()
	var out []string
	buf := make([]*kafkaRecord, n)
	deadline := time.After(10 * time.Second)
	for len(out) < n {
		k, readable := r.queue.take(buf[:n-len(out)])
		for _, rec := range buf[:k] {
			out = append(out, string(rec.msg.Value))
		}
		if k > 0 {
			continue
		}
		select {
		case <-readable:
		case <-deadline:
			r.t.Fatalf("fetched %d of %d records: %q", len(out), n, out)
		}
	}
	return out
}

func values(first, count int) []string {
	out := make([]string, count)
	for i := range out {
		out[i] = "v" + strconv.Itoa(first+i)
	}
	return out
}

// TestPartitionFetcher checks where a fetcher starts and that it resumes after a broken
// connection at the next record, with nothing skipped or fetched twice.
func TestPartitionFetcher(t *testing.T) {
	for _, tc := range []struct {
		name   string
		start  int64 // where the generation starts
		breaks bool  // break the fetcher's connection after the first records
		want   []string
	}{
		{name: "first offset", start: kafka.FirstOffset, want: values(0, 60)},
		{name: "committed offset", start: 12, want: values(12, 48)},
		{name: "resumes after a broken connection", start: kafka.FirstOffset, breaks: true, want: values(0, 60)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			verifyNoLeaks(t)
			conn := startKafka(t, 1, "t")
			produce(t, conn, "t", 0, 0, 30)
			rig := newFetchRig(t, conn)
			p := newPartitionOffsets(topicPartition{"t", 0}, tc.start)
			rig.gen.parts[p.tp] = p
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				newPartitionFetcher(rig.gen, p).run(ctx, p.start)
			}()
			t.Cleanup(func() {
				cancel()
				<-done
			})

			got := rig.next(10)
			if tc.breaks {
				rig.breakConns()
			}
			produce(t, conn, "t", 0, 30, 30)
			got = append(got, rig.next(len(tc.want)-len(got))...)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("fetched %q, want %q", got, tc.want)
			}
			if k, _ := rig.queue.take(make([]*kafkaRecord, 1)); k != 0 {
				t.Fatalf("a record more than the %d expected was fetched", len(tc.want))
			}
			if u := p.unsettled(); len(u) != len(tc.want) || u[0].offset != u[len(u)-1].offset-int64(len(tc.want)-1) {
				t.Fatalf("registered offsets %v, want %d consecutive ones", u, len(tc.want))
			}
		})
	}
}

// TestSeekPartition checks the offset a fetcher starts from for each kind of start.
func TestSeekPartition(t *testing.T) {
	conn := startKafka(t, 1, "t")
	produce(t, conn, "t", 0, 0, 30)
	d := &kafka.Dialer{Timeout: 2 * time.Second}
	for _, tc := range []struct {
		offset, want int64
	}{
		{kafka.FirstOffset, 0},
		{kafka.LastOffset, 30},
		{12, 12},
		{30, 30},
	} {
		c, err := d.DialLeader(context.Background(), "tcp", conn.Brokers[0], "t", 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := seekPartition(c, tc.offset)
		_ = c.Close()
		if err != nil || got != tc.want {
			t.Errorf("seekPartition(%d) = %d, %v; want %d", tc.offset, got, err, tc.want)
		}
	}
}

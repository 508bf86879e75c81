package kafkautil

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/seabridge/seabridge/internal/testkit/faultproxy"
)

// TestReaderKeepsItsConnectionWhenFetchAnswersAreLate reads an empty partition for 4 s with
// kafka-go's Reader over the Dialer, every connection through a proxy that delays each
// direction by 150 ms: the answer to each fetch arrives after the fetch's MaxWait (250 ms),
// but well within the grace of the read deadline, so the Reader keeps the connection it
// dialed instead of closing it and dialing again after every fetch.
func TestReaderKeepsItsConnectionWhenFetchAnswersAreLate(t *testing.T) {
	brokers := startCluster(t, kfake.SeedTopics(1, "idle"))
	proxy, err := faultproxy.New("127.0.0.1:0", brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	proxy.SetLatency(150 * time.Millisecond)

	d, err := Conn{Brokers: []string{proxy.Addr()}}.Dialer()
	if err != nil {
		t.Fatal(err)
	}
	var dials atomic.Int64
	dial := d.DialFunc
	d.DialFunc = func(ctx context.Context, network, _ string) (net.Conn, error) {
		dials.Add(1)
		return dial(ctx, network, proxy.Addr()) // the leader too: kfake advertises itself
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: []string{proxy.Addr()}, Topic: "idle", Partition: 0, Dialer: d,
		MaxWait: 250 * time.Millisecond, ReadLagInterval: -1,
	})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	if _, err := r.FetchMessage(ctx); err == nil {
		t.Fatal("FetchMessage returned a message from an empty partition")
	}
	st := r.Stats()
	// The Reader dials twice to start (the partition's leader is looked up on one connection,
	// read on the other); each fetch that timed out would cost two more.
	if n := dials.Load(); n > 3 || st.Fetches < 3 {
		t.Fatalf("%d dials for %d fetches, %d reader errors: want at most 3 dials for at least 3 fetches",
			n, st.Fetches, st.Errors)
	}
}

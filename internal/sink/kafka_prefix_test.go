package sink

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/pipeline"
)

// TestKafkaSinkWritePrefixStopsAtTheFirstPoison: WritePrefix produces the records before the
// first message that can never be written and none after it when the sink finds it (too large
// for batch_bytes). When only the broker refuses it (larger than its message.max.bytes), the
// records before it are written and it is named first, but later records that went in the same
// produce call may be written too, as WritePrefix documents.
func TestKafkaSinkWritePrefixStopsAtTheFirstPoison(t *testing.T) {
	cases := []struct {
		name       string
		batchBytes int64
		brokerMax  string
		want       []string // the records of out: exactly, or (the broker case) starting with them
		exactly    bool
	}{
		{"too large for the sink", 300, "1048588", []string{"a", "b"}, true},
		{"refused by the broker", 1 << 20, "300", []string{"a", "b"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			verifyNoLeaks(t)
			conn := startKafkaWith(t, map[string]string{"message.max.bytes": c.brokerMax}, "out")
			k := connectSink(t, KafkaOptions{Pipeline: "p", Conn: conn, Topic: "out", BatchBytes: c.batchBytes, BatchSize: 1}, nil)
			big := bytes.Repeat([]byte("x"), 400)
			batch := []*pipeline.Message{{Value: []byte("a")}, {Value: []byte("b")}, {Value: big}, {Value: []byte("c")}, {Value: big}}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := k.WritePrefix(ctx, batch)
			var poison *pipeline.PoisonError
			if !errors.As(err, &poison) || slices.Min(slices.Collect(maps.Keys(poison.Errs))) != 2 {
				t.Fatalf("WritePrefix = %v, want poison first at message 2", err)
			}
			var got []string
			for _, r := range readPartition(t, conn, "out", 0) {
				got = append(got, string(r.Value))
			}
			if c.exactly && !slices.Equal(got, c.want) || !c.exactly && (len(got) < 2 || !slices.Equal(got[:2], c.want)) {
				t.Errorf("out holds %q, want %q (exactly: %v)", got, c.want, c.exactly)
			}
			if slices.Contains(got, string(big)) {
				t.Errorf("out holds a record the broker refused")
			}
		})
	}
}

package sink

import (
	"bytes"
	"errors"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/seabridge/seabridge/internal/pipeline"
)

// TestKafkaSinkBrokerRejectsTooLarge covers a record that passes the local size check but that
// the broker refuses (the topic's max.message.bytes is below the writer's BatchBytes): it must
// be reported as poison, alone, and the records around it written, in order.
func TestKafkaSinkBrokerRejectsTooLarge(t *testing.T) {
	verifyNoLeaks(t)
	conn, cluster := startKafka(t, 1)
	if err := cluster.CreateTopic("small", 1, map[string]string{"max.message.bytes": "1000"}); err != nil {
		t.Fatal(err)
	}
	k := connectSink(t, KafkaOptions{Pipeline: "p", Conn: conn, Topic: "small"}, nil)
	tests := []struct {
		name      string
		batch     []string
		wantBad   []int
		wantAfter []string // what the topic holds after this case, cumulatively
	}{
		{"alone", []string{"big"}, []int{0}, nil},
		{"between good ones", []string{"a", "big", "b"}, []int{1}, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			batch := make([]*pipeline.Message, len(tt.batch))
			for i, v := range tt.batch {
				value := []byte(v)
				if v == "big" {
					value = bytes.Repeat([]byte("x"), 2000)
				}
				batch[i] = &pipeline.Message{Key: []byte("k"), Value: value}
			}
			err := write(t, k, batch)
			var poison *pipeline.PoisonError
			if !errors.As(err, &poison) || len(poison.Errs) != len(tt.wantBad) {
				t.Fatalf("write = %v, want poison for %v", err, tt.wantBad)
			}
			for _, i := range tt.wantBad {
				if !errors.Is(poison.Errs[i], kafka.MessageSizeTooLarge) {
					t.Fatalf("poison[%d] = %v, want MessageSizeTooLarge", i, poison.Errs[i])
				}
			}
			var got []string
			for _, r := range readPartition(t, conn, "small", 0) {
				got = append(got, string(r.Value))
			}
			if !equalStrings(got, tt.wantAfter) {
				t.Fatalf("topic holds %q, want %q", got, tt.wantAfter)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

package sink

import (
	"bytes"
	"errors"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

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

// TestKafkaSinkClassifiesProduceErrors checks what a Write reports for each kind of produce
// failure, and that a transient failure leaves the sink able to write once it clears.
func TestKafkaSinkClassifiesProduceErrors(t *testing.T) {
	verifyNoLeaks(t)
	tests := []struct {
		name string
		err  *kerr.Error
		want string // "transient", "fatal" or "poison"
	}{
		{"routed topic not yet known to the leader", kerr.UnknownTopicOrPartition, "transient"},
		{"leader moved", kerr.NotLeaderForPartition, "transient"},
		{"not enough replicas", kerr.NotEnoughReplicas, "transient"},
		{"topic authorization", kerr.TopicAuthorizationFailed, "fatal"},
		{"too large", kerr.MessageTooLarge, "poison"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, cluster := startKafka(t, 1, "out", "routed")
			k := connectSink(t, KafkaOptions{Pipeline: "p", Conn: conn, Topic: "out", MaxAttempts: 1}, nil)
			fault := cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "routed", Err: tt.err, Count: -1})
			batch := []*pipeline.Message{{Value: []byte("1"), TargetTopic: "routed"}}
			err := write(t, k, batch)
			var poison *pipeline.PoisonError
			got := "transient"
			switch {
			case err == nil:
				got = "nil"
			case errors.As(err, &poison):
				got = "poison"
			case errors.Is(err, pipeline.ErrFatal):
				got = "fatal"
			}
			if got != tt.want {
				t.Fatalf("write = %v (%s), want %s", err, got, tt.want)
			}
			fault.Remove()
			if tt.want != "transient" {
				return
			}
			if err := write(t, k, batch); err != nil {
				t.Fatalf("write after the fault cleared: %v", err)
			}
		})
	}
}

// TestKafkaSinkRequiresAllAcksByDefault checks the acks of the produce requests of a sink
// configured without RequiredAcks.
func TestKafkaSinkRequiresAllAcksByDefault(t *testing.T) {
	verifyNoLeaks(t)
	conn, cluster := startKafka(t, 1, "out")
	acks := make(chan int16, 16)
	cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Observe: true, Count: -1, When: func(r kmsg.Request) bool {
		select {
		case acks <- r.(*kmsg.ProduceRequest).Acks:
		default:
		}
		return true
	}})
	k := connectSink(t, KafkaOptions{Pipeline: "p", Conn: conn, Topic: "out"}, nil)
	if err := write(t, k, []*pipeline.Message{{Value: []byte("1")}}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-acks:
		if got != -1 {
			t.Fatalf("produce request acks = %d, want -1 (all)", got)
		}
	default:
		t.Fatal("no produce request observed")
	}
}

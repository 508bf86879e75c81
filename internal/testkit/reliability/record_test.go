package reliability

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestOrderPerPartition(t *testing.T) {
	r := &KafkaRecorder{highest: map[int32]int{}}
	for _, a := range []struct {
		partition int32
		seq       int
	}{{0, 1}, {1, 0}, {0, 5}, {1, 2}, {0, 3}, {1, 7}} {
		r.order(a.partition, a.seq)
	}
	if n := r.outOfOrder.Load(); n != 1 || *r.example.Load() != "seq 3 after 5 in partition 0" {
		t.Fatalf("out of order %d (%v), want 1: seq 3 after 5 in partition 0", n, r.example.Load())
	}
}

func TestSeqOf(t *testing.T) {
	for _, tc := range []struct {
		name       string
		value, key []byte
		headers    []kgo.RecordHeader
		want       int
		ok         bool
	}{
		{"header first", []byte(`{"seq":2}`), []byte("3"), []kgo.RecordHeader{{Key: SeqHeader, Value: []byte("1")}}, 1, true},
		{"the value's seq", []byte(`{"seq":2,"pad":"x"}`), []byte("3"), nil, 2, true},
		{"a numeric key when the value is not JSON", []byte(`{"seq":`), []byte("3"), nil, 3, true},
		{"nothing", []byte(`[1]`), []byte("k-1"), nil, 0, false},
		{"a non-integer seq", []byte(`{"seq":1.5}`), nil, nil, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, ok := seqOf(tc.value, tc.key, tc.headers); got != tc.want || ok != tc.ok {
				t.Fatalf("seqOf = %d, %v; want %d, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestSameJSON(t *testing.T) {
	if d := SameJSON([]byte(`{"b":1, "a":[1,2]}`), []byte(`{"a":[1,2],"b":1}`)); d != "" {
		t.Fatalf("equal objects differ: %s", d)
	}
	if d := SameJSON([]byte(`{"a":1}`), []byte(`{"a":2}`)); d == "" {
		t.Fatal("different objects are the same")
	}
	if DefaultCheck(7, DefaultPayload(7)) != "" || DefaultCheck(7, DefaultPayload(8)) == "" {
		t.Fatal("DefaultCheck does not tell its own payload from another")
	}
}

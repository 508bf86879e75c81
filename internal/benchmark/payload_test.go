package benchmark

import (
	"encoding/json"
	"testing"
)

func TestPayloadBatchFill(t *testing.T) {
	for _, size := range []int{MinSize, 100, 256, 4096} {
		b := newPayloadBatch(3, size)
		const sent = int64(1_800_000_000_123_456_789)
		for round := range 2 { // buffers are reused: the second fill must be as good
			got := b.fill(3, int64(round*1000+7), sent+int64(round))
			if len(got) != 3 {
				t.Fatalf("size %d: %d payloads, want 3", size, len(got))
			}
			for i, p := range got {
				if len(p) != size {
					t.Errorf("size %d: payload %d is %d bytes", size, i, len(p))
				}
				var v struct {
					TS  int64  `json:"ts"`
					Seq int64  `json:"seq"`
					Pad string `json:"pad"`
				}
				if err := json.Unmarshal(p, &v); err != nil {
					t.Fatalf("size %d: payload %q: %v", size, p, err)
				}
				if v.TS != sent+int64(round) || v.Seq != int64(round*1000+7+i) {
					t.Errorf("size %d: payload %d = ts %d seq %d", size, i, v.TS, v.Seq)
				}
				if ts, ok := sentAt(p); !ok || ts != v.TS {
					t.Errorf("sentAt(%q) = %d, %v", p, ts, ok)
				}
			}
		}
	}
}

func TestSentAt(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{`{"ts":1700000000000000000,"seq":1}`, 1700000000000000000, true},
		{`{ "seq": 1, "ts": 42 }`, 42, true},
		{`{"seq":1,"ts":` + "\n\t" + `9}`, 9, true},
		{`{"seq":1}`, 0, false},
		{`{"ts":"soon"}`, 0, false},
		{`{"ts":`, 0, false},
		{``, 0, false},
	}
	for _, tt := range tests {
		got, ok := sentAt([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("sentAt(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

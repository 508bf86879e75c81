package benchmark

import (
	"encoding/json"
	"testing"

	"github.com/seabridge/seabridge/internal/config"
	"github.com/seabridge/seabridge/internal/streamsea"
)

// TestPayloadMatchesItsSchema checks that every payload is one JSON object of the 15 fields,
// about 250 bytes, valid against the schema the benchmark's bridge defines and validates with.
func TestPayloadMatchesItsSchema(t *testing.T) {
	cfg, err := config.LoadBytes([]byte(bridgeConfig{listen: "127.0.0.1:1", emulatorURL: "http://127.0.0.1:1",
		brokers: []string{"127.0.0.1:1"}, pipelines: []pipelineSpec{{name: "p", stream: "positions", topic: "t", group: "g"}},
	}.toml()), nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := streamsea.NewValidator(cfg.Pipelines[0].Sink.Schema)
	if err != nil {
		t.Fatal(err)
	}
	b := newPayloadBatch(4)
	const sent = int64(1_764_614_400_123_456_789)
	for _, first := range []int64{0, 999_996, -4} {
		for i, p := range b.fill(4, first, sent) {
			if err := v.Validate(p); err != nil {
				t.Errorf("payload %s: %v", p, err)
			}
			var fields map[string]any
			if err := json.Unmarshal(p, &fields); err != nil || len(fields) != PayloadFields {
				t.Errorf("payload %s: %d fields (%v), want %d", p, len(fields), err, PayloadFields)
			}
			if len(p) < 230 || len(p) > 270 {
				t.Errorf("payload is %d bytes, want about 250: %s", len(p), p)
			}
			st, ok := readStamp(p)
			if !ok || st.sentAt != sent || st.seq != first+int64(i) {
				t.Errorf("readStamp(%s) = %+v, %v", p, st, ok)
			}
		}
	}
}

func TestReadStamp(t *testing.T) {
	tests := []struct {
		in   string
		want stamp
		ok   bool
	}{
		{`{"ts":1700000000000000000,"seq":1}`, stamp{1700000000000000000, 1}, true},
		{`{ "seq": -3, "ts": 42 }`, stamp{42, -3}, true},
		{`{"seq":1,"ts":` + "\n\t" + `9}`, stamp{9, 1}, true},
		{`{"seq":1}`, stamp{0, 1}, false},
		{`{"ts":"soon","seq":2}`, stamp{0, 2}, false},
		{``, stamp{}, false},
	}
	for _, tt := range tests {
		got, ok := readStamp([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("readStamp(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

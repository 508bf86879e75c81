package streamsea

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func FuzzDecodeFrame(f *testing.F) {
	f.Add([]byte(`{"id":2,"action":"subscription","streamName":"s","payload":{"a":[1,2.5,"x"]}}`))
	f.Add([]byte(`{"id":1,"action":"authenticate","success":false,"error":{"message":"no"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		frame, err := DecodeFrame(data)
		if err != nil {
			var perr *ProtocolError
			if !errors.As(err, &perr) || !errors.Is(err, ErrProtocol) || len(perr.Frame) > 200 {
				t.Fatalf("error %v is not a well-formed *ProtocolError", err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted a frame that encoding/json rejects: %q", data)
		}
		if len(frame.Payload) > 0 && !json.Valid(frame.Payload) {
			t.Fatalf("payload %q is not valid JSON", frame.Payload)
		}
		encoded := AppendFrame(nil, &frame)
		if want, err := json.Marshal(&frame); err != nil || !bytes.Equal(encoded, want) {
			t.Fatalf("AppendFrame = %s, json.Marshal = %s (%v)", encoded, want, err)
		}
		again, err := DecodeFrame(encoded)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", encoded, err)
		}
		if len(frame.Payload) > 0 {
			frame.Payload = appendCompactJSON(nil, frame.Payload)
		}
		if !reflect.DeepEqual(again, frame) {
			t.Fatalf("round trip changed the frame:\n got %+v\nwant %+v", again, frame)
		}
	})
}

func FuzzSplitPayload(f *testing.F) {
	f.Add([]byte(`[{"a":1},{"b":[2,3]}]`))
	f.Add([]byte(` {"a":"]"} `))
	f.Fuzz(func(t *testing.T, data []byte) {
		parts, err := SplitPayload(data)
		trimmed := bytes.Trim(data, " \t\r\n")
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %v does not match ErrProtocol", err)
			}
			if json.Valid(data) && (trimmed[0] == '[' || trimmed[0] == '{') {
				t.Fatalf("rejected valid payload %q: %v", data, err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted a payload that encoding/json rejects: %q", data)
		}
		if trimmed[0] == '{' {
			if len(parts) != 1 || !bytes.Equal(parts[0], trimmed) {
				t.Fatalf("object split into %q", parts)
			}
			return
		}
		var want []json.RawMessage
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("encoding/json cannot decode an accepted array: %v", err)
		}
		if len(parts) != len(want) {
			t.Fatalf("%d parts, encoding/json finds %d", len(parts), len(want))
		}
		for i := range parts {
			if !bytes.Equal(parts[i], want[i]) {
				t.Fatalf("part %d = %q, encoding/json finds %q", i, parts[i], want[i])
			}
		}
	})
}

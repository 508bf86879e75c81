package streamsea

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func boolPtr(b bool) *bool { return &b }

func TestDecodeFrame(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Frame
		payload string // the expected Payload bytes
	}{
		{"auth reply", `{"id":1,"action":"authenticate","success":true,"payload":{"jailId":"j"}}`,
			Frame{ID: 1, Action: ActionAuthenticate, Success: boolPtr(true)}, `{"jailId":"j"}`},
		{"auth failure", `{"id":1,"action":"authenticate","success":false,"error":{"message":"bad \"secret\""}}`,
			Frame{ID: 1, Action: ActionAuthenticate, Success: boolPtr(false), Error: &FrameError{Message: `bad "secret"`}}, ``},
		{"subscription ack", `{"id":2,"action":"subscription","success":true,"streamName":"s","payload":7}`,
			Frame{ID: 2, Action: ActionSubscription, Success: boolPtr(true), StreamName: "s"}, `7`},
		{"delivery with whitespace", " {\n \"id\" : 2 , \"action\":\"subscription\",\"streamName\":\"s\",\"payload\": [ {\"a\":1} , {} ] } \n",
			Frame{ID: 2, Action: ActionSubscription, StreamName: "s"}, `[ {"a":1} , {} ]`},
		{"subscribe request", `{"id":3,"action":"subscribe","payload":"s","groupId":"5f0c4e6a-1111-4222-8333-944445555666"}`,
			Frame{ID: 3, Action: ActionSubscribe, GroupID: "5f0c4e6a-1111-4222-8333-944445555666"}, `"s"`},
		{"nulls mean absent", `{"id":4,"action":"x","success":null,"streamName":null,"groupId":null,"error":null}`,
			Frame{ID: 4, Action: "x"}, ``},
		{"null payload kept", `{"id":4,"action":"x","payload":null}`, Frame{ID: 4, Action: "x"}, `null`},
		{"unknown keys skipped", `{"extra":{"deep":[1,{"id":"no"}]},"id":5,"action":"x","more":null}`, Frame{ID: 5, Action: "x"}, ``},
		{"duplicate keys, last wins", `{"id":1,"action":"a","id":6,"action":"b","payload":1,"payload":{"p":2}}`,
			Frame{ID: 6, Action: "b"}, `{"p":2}`},
		{"escaped keys and strings", `{"\u0069d":7,"action":"subscr\u0069ption","streamName":"caf\u00e9"}`,
			Frame{ID: 7, Action: ActionSubscription, StreamName: "café"}, ``},
		{"error object extra keys", `{"id":8,"action":"x","error":{"code":3,"message":"m","details":[1]}}`,
			Frame{ID: 8, Action: "x", Error: &FrameError{Message: "m"}}, ``},
		{"id zero and max", `{"id":18446744073709551615,"action":"x"}`, Frame{ID: 18446744073709551615, Action: "x"}, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeFrame([]byte(tt.in))
			if err != nil {
				t.Fatalf("DecodeFrame: %v", err)
			}
			if string(got.Payload) != tt.payload {
				t.Errorf("Payload = %q, want %q", got.Payload, tt.payload)
			}
			got.Payload = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DecodeFrame = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeFramePayloadAliasesInput(t *testing.T) {
	in := []byte(`{"id":1,"action":"subscription","payload":{"a":1}}`)
	f, err := DecodeFrame(in)
	if err != nil {
		t.Fatal(err)
	}
	if &f.Payload[0] != &in[bytes.Index(in, []byte(`{"a"`))] {
		t.Error("Payload is a copy, want a sub-slice of the input")
	}
	if cap(f.Payload) != len(f.Payload) {
		t.Error("Payload capacity reaches past the payload; appending would overwrite the input")
	}
}

func TestDecodeFrameErrors(t *testing.T) {
	tests := []struct {
		name, in, reason string
	}{
		{"empty", ``, "empty frame"},
		{"array", `[{"id":1}]`, "not a JSON object"},
		{"string", `"x"`, "not a JSON object"},
		{"missing id", `{"action":"x"}`, "missing id"},
		{"missing action", `{"id":1}`, "missing action"},
		{"null id", `{"id":null,"action":"x"}`, "invalid id"},
		{"negative id", `{"id":-1,"action":"x"}`, "invalid id"},
		{"fractional id", `{"id":1.0,"action":"x"}`, "invalid id"},
		{"exponent id", `{"id":1e2,"action":"x"}`, "invalid id"},
		{"string id", `{"id":"1","action":"x"}`, "invalid id"},
		{"id overflow", `{"id":18446744073709551616,"action":"x"}`, "invalid id"},
		{"empty action", `{"id":1,"action":""}`, "invalid action"},
		{"numeric action", `{"id":1,"action":3}`, "invalid action"},
		{"string success", `{"id":1,"action":"x","success":"true"}`, "invalid success"},
		{"numeric streamName", `{"id":1,"action":"x","streamName":1}`, "invalid streamName"},
		{"object groupId", `{"id":1,"action":"x","groupId":{}}`, "invalid groupId"},
		{"string error", `{"id":1,"action":"x","error":"boom"}`, "invalid error"},
		{"numeric error message", `{"id":1,"action":"x","error":{"message":1}}`, "invalid error"},
		{"malformed payload", `{"id":1,"action":"x","payload":{"a":}}`, "invalid JSON at offset"},
		{"trailing data", `{"id":1,"action":"x"}x`, "after the top-level value"},
		{"truncated", `{"id":1,"action":"x"`, "unexpected end of input"},
		{"two frames", `{"id":1,"action":"x"}{"id":2,"action":"x"}`, "after the top-level value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeFrame([]byte(tt.in))
			var perr *ProtocolError
			if !errors.As(err, &perr) || !errors.Is(err, ErrProtocol) {
				t.Fatalf("DecodeFrame error = %v, want a *ProtocolError matching ErrProtocol", err)
			}
			if !strings.Contains(perr.Reason, tt.reason) {
				t.Errorf("Reason = %q, want it to contain %q", perr.Reason, tt.reason)
			}
			if string(perr.Frame) != tt.in {
				t.Errorf("Frame = %q, want the input", perr.Frame)
			}
		})
	}
}

func TestProtocolErrorTruncatesFrame(t *testing.T) {
	in := []byte(`{"id":1,"action":"x","payload":"` + strings.Repeat("a", 500) + `"`)
	_, err := DecodeFrame(in)
	var perr *ProtocolError
	if !errors.As(err, &perr) {
		t.Fatalf("DecodeFrame error = %v", err)
	}
	if len(perr.Frame) != 200 || !bytes.Equal(perr.Frame, in[:200]) {
		t.Errorf("Frame has %d bytes, want the first 200", len(perr.Frame))
	}
	in[0] = 'X'
	if perr.Frame[0] != '{' {
		t.Error("Frame aliases the input, want a copy")
	}
}

func TestAppendFrameMatchesEncodingJSON(t *testing.T) {
	nasty := "<a&b>\u2028\u2029\x00\x1f\b\f\n\r\t\"\\/é\xff\xfe日本\U0001F600"
	frames := []Frame{
		{},
		{ID: 1, Action: ActionAuthenticate, Payload: json.RawMessage(`{"type":"basic","clientId":"c","clientSecret":"s"}`)},
		{ID: 2, Action: ActionSubscribe, Payload: json.RawMessage(`"stream"`), GroupID: "5f0c4e6a-1111-4222-8333-944445555666"},
		{ID: 3, Action: ActionSubscription, Success: boolPtr(true), StreamName: "s", Payload: json.RawMessage(`12`)},
		{ID: 1, Action: ActionAuthenticate, Success: boolPtr(false), Error: &FrameError{}},
		{ID: 18446744073709551615, Action: nasty, StreamName: nasty, GroupID: nasty, Error: &FrameError{Message: nasty}},
		{ID: 4, Action: "x", Payload: json.RawMessage(" {\n \"a<>&\" : [ 1 , \"\u2028 \\\" \\u003c \" , {\"b\":null} ] ,\"\\\\\":\"\\\\\" } ")},
		{ID: 5, Action: "x", Payload: json.RawMessage(`null`)},
	}
	for _, f := range frames {
		want, err := json.Marshal(&f)
		if err != nil {
			t.Fatal(err)
		}
		prefix := []byte("prefix")
		got := AppendFrame(prefix, &f)
		if !bytes.HasPrefix(got, prefix) || string(got[len(prefix):]) != string(want) {
			t.Errorf("AppendFrame:\n got %s\nwant %s", got[len(prefix):], want)
		}
	}
}

func TestAppendFrameRoundTrip(t *testing.T) {
	f := Frame{ID: 9, Action: ActionSubscription, Success: boolPtr(false), StreamName: "s<", GroupID: "g",
		Payload: json.RawMessage(`{"a":[1,2,{"b":"c"}]}`), Error: &FrameError{Message: "m\n"}}
	got, err := DecodeFrame(AppendFrame(nil, &f))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, f) {
		t.Fatalf("round trip = %+v, want %+v", got, f)
	}
}

func TestAppendFrameZeroAllocs(t *testing.T) {
	f := Frame{ID: 9, Action: ActionSubscription, StreamName: "s", Payload: json.RawMessage(`{"a":[1,2,{"b":"c"}]}`)}
	buf := make([]byte, 0, 256)
	if allocs := testing.AllocsPerRun(100, func() { buf = AppendFrame(buf[:0], &f) }); allocs != 0 {
		t.Errorf("AppendFrame allocates %.1f times into a large enough buffer", allocs)
	}
}

func TestSplitPayload(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"object", `{"a":1}`, []string{`{"a":1}`}},
		{"object with whitespace", " \n{\"a\" : [1]}\t ", []string{`{"a" : [1]}`}},
		{"batch", `[{"a":1},{"b":[2,3]},{}]`, []string{`{"a":1}`, `{"b":[2,3]}`, `{}`}},
		{"batch with whitespace", " [ {\"a\":1} ,\n {\"b\":\"],[\"} ] ", []string{`{"a":1}`, `{"b":"],["}`}},
		{"empty batch", `[]`, nil},
		{"batch of other kinds", `[1,"x",null,[{}]]`, []string{`1`, `"x"`, `null`, `[{}]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SplitPayload([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			var strs []string
			for _, g := range got {
				strs = append(strs, string(g))
				if cap(g) != len(g) {
					t.Errorf("element %q has spare capacity", g)
				}
			}
			if !reflect.DeepEqual(strs, tt.want) {
				t.Errorf("SplitPayload = %q, want %q", strs, tt.want)
			}
		})
	}
}

func TestSplitPayloadErrors(t *testing.T) {
	for _, in := range []string{``, ` `, `1`, `"x"`, `null`, `true`, `{`, `{"a":1}x`, `[{"a":1},]`, `[{"a":1}`, `[{"a":1}] []`, `{"a":1}{}`} {
		t.Run(in, func(t *testing.T) {
			_, err := SplitPayload([]byte(in))
			var perr *ProtocolError
			if !errors.As(err, &perr) || !errors.Is(err, ErrProtocol) {
				t.Fatalf("SplitPayload(%q) error = %v, want a *ProtocolError", in, err)
			}
		})
	}
}

func TestValidUUID(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"5f0c4e6a-1111-4222-8333-944445555666", true},
		{"5F0C4E6A-ABCD-4EF0-8333-94444555566F", true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"{5f0c4e6a-1111-4222-8333-944445555666}", false},
		{"urn:uuid:5f0c4e6a-1111-4222-8333-944445555666", false},
		{"5f0c4e6a111142228333944445555666", false},
		{"5f0c4e6a-1111-4222-8333-94444555566", false},
		{"5f0c4e6a-1111-4222-8333-9444455556666", false},
		{"5f0c4e6a-1111-4222-8333_944445555666", false},
		{"5f0c4e6g-1111-4222-8333-944445555666", false},
		{"5f0c4e6a11-11-4222-8333-944445555666", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := ValidUUID(tt.in); got != tt.want {
				t.Errorf("ValidUUID(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func BenchmarkDecodeFrame(b *testing.B) {
	_, payload := loadBenchCase(b, "validate_bench")
	frame := []byte(`{"id":2,"action":"subscription","streamName":"portCall","payload":` + string(payload) + `}`)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeFrame(frame); err != nil {
			b.Fatal(err)
		}
	}
}

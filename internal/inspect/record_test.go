package inspect

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestRecordValuesAndKeys(t *testing.T) {
	cases := []struct {
		name        string
		key, value  []byte
		wantKey     string // JSON of the key field; "" for none
		wantValue   string
		valueBase64 bool
	}{
		{"json object", []byte("k"), []byte(`{"a":1}`), `"k"`, `{"a":1}`, false},
		{"json with spaces", nil, []byte(" [1, 2]\n"), "", `[1,2]`, false},
		{"text", nil, []byte("hello"), "", `"hello"`, false},
		{"bytes", []byte{0xff, 0x00}, []byte{0xff, 0xfe}, `"/wA="`, `"//4="`, true},
		{"empty value", []byte(""), []byte{}, `""`, `""`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r Record
			r.setKey(c.key)
			r.setValue(c.value)
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]json.RawMessage
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if string(got["key"]) != c.wantKey || string(got["value"]) != c.wantValue || r.ValueBase64 != c.valueBase64 {
				t.Fatalf("%s: key %s value %s base64 %v", b, got["key"], got["value"], r.ValueBase64)
			}
			// What tail prints, send --records reads back to the same bytes.
			m, err := newLineReader(bytes.NewReader(b), true).next()
			if err != nil {
				t.Fatal(err)
			}
			wantValue := c.value
			var compact bytes.Buffer
			if json.Compact(&compact, c.value) == nil && compact.Len() > 0 {
				wantValue = compact.Bytes() // JSON is printed compacted, and so read back
			}
			if !bytes.Equal(m.key, c.key) || !bytes.Equal(m.value, wantValue) {
				t.Fatalf("read back key %q value %q, want %q %q", m.key, m.value, c.key, wantValue)
			}
		})
	}
}

func TestRecordHeadersRepeat(t *testing.T) {
	var r Record
	r.setHeaders([]Header{{"a", []byte("1")}, {"b", []byte("x")}, {"a", []byte("2")}, {"a", []byte("3")}})
	b, _ := json.Marshal(r.Headers)
	if string(b) != `{"a":["1","2","3"],"b":"x"}` {
		t.Fatalf("headers %s", b)
	}
	r.setValue([]byte("{}"))
	line, _ := json.Marshal(r)
	m, err := newLineReader(bytes.NewReader(line), true).next()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range m.headers {
		got = append(got, h.Key+"="+string(h.Value))
	}
	if strings.Join(got, ",") != "a=1,a=2,a=3,b=x" {
		t.Fatalf("headers read back: %v", got)
	}
}

func TestLineReader(t *testing.T) {
	cases := []struct {
		name, input string
		records     bool
		values      []string
		errLine     int // 0: no error
		errText     string
	}{
		{"values, blank lines skipped", "{\"a\":1}\n\n  [2]  \n\"s\"\n", false, []string{`{"a":1}`, `[2]`, `"s"`}, 0, ""},
		{"not json", "{}\nnope\n{}\n", false, []string{`{}`}, 2, "not JSON"},
		{"record", `{"key":"k","headers":{"h":"v"},"value":{"x":1},"topic":"ignored","offset":3}` + "\n", true, []string{`{"x":1}`}, 0, ""},
		{"record text value", `{"value":"plain"}`, true, []string{`plain`}, 0, ""},
		{"record without value", `{"key":"k"}`, true, nil, 1, "no value"},
		{"record bad header", `{"headers":{"h":1},"value":{}}`, true, nil, 1, `header "h"`},
		{"record bad base64", `{"value":"%%","value_base64":true}`, true, nil, 1, "base64"},
		{"record not an object", `[1]`, true, nil, 1, "not a record"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lr := newLineReader(strings.NewReader(c.input), c.records)
			var got []string
			for {
				m, err := lr.next()
				if err == io.EOF {
					break
				}
				if err != nil {
					var ie *InputError
					if !errors.As(err, &ie) || ie.Line != c.errLine || !strings.Contains(err.Error(), c.errText) {
						t.Fatalf("error %v, want an InputError of line %d with %q", err, c.errLine, c.errText)
					}
					break
				}
				got = append(got, string(m.value))
			}
			if strings.Join(got, "|") != strings.Join(c.values, "|") {
				t.Fatalf("values %q, want %q", got, c.values)
			}
		})
	}
}

func TestPrettyFormat(t *testing.T) {
	p, o := 2, int64(7)
	at := time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)
	r := Record{Topic: "t", Partition: &p, Offset: &o, Time: &at}
	r.setKey([]byte("IMO1"))
	r.setHeaders([]Header{{"seabridge-error", []byte("bad")}})
	r.setValue([]byte(`{"a":1}`))
	var b bytes.Buffer
	if err := (Printer{Out: &b, Format: FormatPretty}).Print(r); err != nil {
		t.Fatal(err)
	}
	want := "kafka t partition 2 offset 7  2026-12-01T20:00:00Z\n  key: IMO1\n  seabridge-error: bad\n  {\n    \"a\": 1\n  }\n\n"
	if b.String() != want {
		t.Fatalf("pretty:\n%s\nwant:\n%s", b.String(), want)
	}
}

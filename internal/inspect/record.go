package inspect

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Record is one message as `bridge tail` prints it (one JSON object per line) and `bridge send
// --records` reads it.
type Record struct {
	Topic     string     `json:"topic,omitempty"`
	Partition *int       `json:"partition,omitempty"`
	Offset    *int64     `json:"offset,omitempty"`
	Stream    string     `json:"stream,omitempty"`
	Time      *time.Time `json:"timestamp,omitempty"`
	// Key is the Kafka key: text, or base64 with KeyBase64; nil when the record has none.
	Key       *string `json:"key,omitempty"`
	KeyBase64 bool    `json:"key_base64,omitempty"`
	// Headers maps each header key to its value, or to a list of values when the key repeats.
	Headers map[string]any `json:"headers,omitempty"`
	// Value is the payload: JSON as it is, other text as a JSON string, other bytes as a
	// base64 string with ValueBase64.
	Value       json.RawMessage `json:"value"`
	ValueBase64 bool            `json:"value_base64,omitempty"`
}

// Header is one Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// setKey sets the record's key from raw bytes (nil: no key).
func (r *Record) setKey(key []byte) {
	if key == nil {
		return
	}
	s := string(key)
	if !utf8.Valid(key) {
		s, r.KeyBase64 = base64.StdEncoding.EncodeToString(key), true
	}
	r.Key = &s
}

// setHeaders sets the record's headers; a key that repeats gets the list of its values.
func (r *Record) setHeaders(hs []Header) {
	if len(hs) == 0 {
		return
	}
	r.Headers = make(map[string]any, len(hs))
	for _, h := range hs {
		v := string(h.Value)
		switch prev := r.Headers[h.Key].(type) {
		case nil:
			r.Headers[h.Key] = v
		case string:
			r.Headers[h.Key] = []string{prev, v}
		case []string:
			r.Headers[h.Key] = append(prev, v)
		}
	}
}

// setValue sets the record's value from the payload bytes.
func (r *Record) setValue(v []byte) {
	trimmed := bytes.TrimSpace(v)
	switch {
	case len(trimmed) > 0 && json.Valid(trimmed):
		r.Value = json.RawMessage(trimmed)
	case utf8.Valid(v):
		r.Value, _ = json.Marshal(string(v))
	default:
		r.Value, _ = json.Marshal(base64.StdEncoding.EncodeToString(v))
		r.ValueBase64 = true
	}
}

// keyBytes returns the key the record names (nil: none).
func (r *Record) keyBytes() ([]byte, error) {
	if r.Key == nil {
		return nil, nil
	}
	if r.KeyBase64 {
		b, err := base64.StdEncoding.DecodeString(*r.Key)
		if err != nil {
			return nil, fmt.Errorf("key: not base64: %w", err)
		}
		return b, nil
	}
	return []byte(*r.Key), nil
}

// valueBytes returns the payload the record's value stands for: a JSON string is its text
// (or, with ValueBase64, the bytes it encodes); any other JSON value is sent as written.
func (r *Record) valueBytes() ([]byte, error) {
	if len(r.Value) == 0 {
		return nil, fmt.Errorf("no value")
	}
	if r.Value[0] != '"' {
		return r.Value, nil
	}
	var s string
	if err := json.Unmarshal(r.Value, &s); err != nil {
		return nil, fmt.Errorf("value: %w", err)
	}
	if !r.ValueBase64 {
		return []byte(s), nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("value: not base64: %w", err)
	}
	return b, nil
}

// headerList returns the record's headers, sorted by key, repeated keys in their order.
func (r *Record) headerList() ([]Header, error) {
	keys := make([]string, 0, len(r.Headers))
	for k := range r.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Header
	for _, k := range keys {
		switch v := r.Headers[k].(type) {
		case string:
			out = append(out, Header{k, []byte(v)})
		case []any:
			for _, e := range v {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("header %q: values must be strings", k)
				}
				out = append(out, Header{k, []byte(s)})
			}
		default:
			return nil, fmt.Errorf("header %q: value must be a string or a list of strings", k)
		}
	}
	return out, nil
}

// Formats of Printer.
const (
	FormatJSON   = "json"   // one JSON object per line
	FormatPretty = "pretty" // a header line, key and headers, the value indented
)

// Printer writes records to an output in one format.
type Printer struct {
	Out    io.Writer
	Format string
}

// Print writes one record.
func (p Printer) Print(r Record) error {
	if p.Format == FormatPretty {
		_, err := io.WriteString(p.Out, pretty(r))
		return err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = p.Out.Write(append(b, '\n'))
	return err
}

func pretty(r Record) string {
	var b strings.Builder
	if r.Topic != "" {
		fmt.Fprintf(&b, "kafka %s partition %d offset %d", r.Topic, deref(r.Partition), deref(r.Offset))
	} else {
		fmt.Fprintf(&b, "stream-sea %s", r.Stream)
	}
	if r.Time != nil {
		fmt.Fprintf(&b, "  %s", r.Time.UTC().Format(time.RFC3339Nano))
	}
	b.WriteByte('\n')
	if r.Key != nil {
		enc := ""
		if r.KeyBase64 {
			enc = " (base64)"
		}
		fmt.Fprintf(&b, "  key%s: %s\n", enc, *r.Key)
	}
	keys := make([]string, 0, len(r.Headers))
	for k := range r.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch v := r.Headers[k].(type) {
		case string:
			fmt.Fprintf(&b, "  %s: %s\n", k, v)
		case []string:
			for _, e := range v {
				fmt.Fprintf(&b, "  %s: %s\n", k, e)
			}
		}
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, r.Value, "  ", "  "); err != nil {
		indented.Reset()
		indented.Write(r.Value)
	}
	if r.ValueBase64 {
		b.WriteString("  value (base64):\n")
	}
	b.WriteString("  " + indented.String() + "\n\n")
	return b.String()
}

func deref[T int | int64](p *T) T {
	if p == nil {
		return 0
	}
	return *p
}

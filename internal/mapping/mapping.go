// Package mapping turns one message into zero or more, per a pipeline's [mapping] settings:
// key extraction, topic or stream routing, field projection and renaming, static fields,
// headers to and from fields, an optional jq expression, and an optional metadata envelope.
//
// A Mapper is compiled once at start (New reports every bad setting) and is then pure per
// message. A message whose payload cannot be mapped gets an error, which the runner treats as
// poison (dead-letter topic), never a crash; so does one whose jq evaluation breaks its limits
// of time and size (jq.go), never a stall. When no setting needs the payload's fields the
// payload bytes pass through untouched.
package mapping

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/seabridge/seabridge/internal/pipeline"
)

// Options are a pipeline's mapping settings. The zero value passes messages through unchanged.
type Options struct {
	Key             string            // JSON pointer to the value used as the Kafka key
	Topic           string            // Kafka topic template, e.g. "boiler.{/site}"
	Stream          string            // stream-sea stream template
	Include         []string          // fields to keep (projection): top-level names or JSON pointers; empty keeps all
	Rename          map[string]string // top-level field renames, old -> new, applied all at once
	Static          map[string]any    // fields set on every message; TOML values are converted (see jsonValue)
	HeadersToFields map[string]string // header name -> top-level field
	FieldsToHeaders map[string]string // JSON pointer -> header name
	JQ              string            // gojq expression; each output becomes a message
	JQTimeout       time.Duration     // the most one message's jq evaluation may take; 0: DefaultJQTimeout
	JQMaxBytes      int               // the most bytes one message's jq outputs may hold; 0: DefaultJQMaxBytes
	Envelope        bool              // wrap: {"stream"|"topic","partition","offset","receivedAt","key","payload"}
}

// Mapper applies compiled Options. It is safe for use by one goroutine at a time.
type Mapper struct {
	key             *pointer
	topic, stream   *template
	include         *projection // nil keeps every field
	renames         []rename
	static          map[string]any // JSON values only
	headersToFields map[string]string
	fieldsToHeaders []fieldHeader
	jq              *jqProgram
	envelope        bool
	decodes         bool // whether the payload must be decoded to apply the options
}

type fieldHeader struct {
	ptr    pointer
	header string
}

var _ pipeline.Mapper = (*Mapper)(nil)

// New compiles o, reporting every invalid setting at once as Errors of *OptionError.
func New(o Options) (*Mapper, error) {
	m := &Mapper{envelope: o.Envelope}
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, &OptionError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if o.Key != "" {
		p, err := parsePointer(o.Key)
		if err != nil {
			add("key", "%q: %v", o.Key, err)
		}
		m.key = &p
	}
	var err error
	if o.Topic != "" {
		if m.topic, err = parseTemplate(o.Topic); err == nil {
			err = m.topic.checkTopic()
		}
		if err != nil {
			add("topic", "%q: %v", o.Topic, err)
		}
	}
	if o.Stream != "" {
		if m.stream, err = parseTemplate(o.Stream); err != nil {
			add("stream", "%q: %v", o.Stream, err)
		}
	}
	if len(o.Include) > 0 {
		var perrs []error
		m.include, perrs = newProjection(o.Include)
		errs = append(errs, perrs...)
	}
	var rerrs []error
	m.renames, rerrs = newRenames(o.Rename, o.Static, m.include)
	errs = append(errs, rerrs...)
	errs = append(errs, m.compileStatic(o.Static)...)
	for _, h := range sortedKeys(o.HeadersToFields) {
		switch {
		case h == "":
			add("headers_to_fields", "a header name must not be empty")
		case o.HeadersToFields[h] == "":
			add(fmt.Sprintf("headers_to_fields[%q]", h), "must not be empty")
		}
	}
	m.headersToFields = o.HeadersToFields
	for _, ptr := range sortedKeys(o.FieldsToHeaders) {
		at := fmt.Sprintf("fields_to_headers[%q]", ptr)
		p, err := parsePointer(ptr)
		if err != nil || ptr == "" {
			if err == nil {
				err = errors.New("a JSON pointer starts with '/'")
			}
			add(at, "%q: %v", ptr, err)
		}
		h := o.FieldsToHeaders[ptr]
		if h == "" {
			add(at, "must not be empty")
		}
		m.fieldsToHeaders = append(m.fieldsToHeaders, fieldHeader{ptr: p, header: h})
	}
	sort.Slice(m.fieldsToHeaders, func(i, j int) bool { return m.fieldsToHeaders[i].header < m.fieldsToHeaders[j].header })
	timeout, maxBytes := o.JQTimeout, o.JQMaxBytes
	if timeout == 0 {
		timeout = DefaultJQTimeout
	}
	if maxBytes == 0 {
		maxBytes = DefaultJQMaxBytes
	}
	if timeout < 0 {
		add("jq_timeout", "must be a positive duration, not %s", timeout)
	}
	if maxBytes < 0 {
		add("jq_max_bytes", "must be positive, not %d", maxBytes)
	}
	if o.JQ != "" {
		if m.jq, err = compileJQ(o.JQ, timeout, maxBytes); err != nil {
			add("jq", "%v", err)
		}
	}
	m.decodes = m.include != nil || len(m.renames) > 0 || len(m.static) > 0 || len(m.headersToFields) > 0 || m.jq != nil
	if len(errs) > 0 {
		return nil, Errors(errs)
	}
	return m, nil
}

// compileStatic converts the static fields into JSON values once, so that every message
// shares them and neither encoding/json nor gojq meets a type it does not know.
func (m *Mapper) compileStatic(static map[string]any) []error {
	var errs []error
	for _, k := range sortedKeys(static) {
		if k == "" {
			errs = append(errs, &OptionError{Key: "static", Msg: "a field name must not be empty"})
			continue
		}
		v, err := jsonValue(static[k], fmt.Sprintf("static[%q]", k))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if m.static == nil {
			m.static = make(map[string]any, len(static))
		}
		m.static[k] = v
	}
	return errs
}

// Identity reports whether m changes nothing, so callers may skip it.
func (m *Mapper) Identity() bool {
	return !m.decodes && m.key == nil && m.topic == nil && m.stream == nil && len(m.fieldsToHeaders) == 0 && !m.envelope
}

// Map applies the mapping to in. It returns one message normally, zero when a jq expression
// produced no output (the message is filtered), several when it produced several. Any
// failure, a panic inside the mapping included, is returned as an error: the message is
// poison, and the process keeps running.
func (m *Mapper) Map(_ context.Context, in *pipeline.Message) (outs []*pipeline.Message, err error) {
	if m.Identity() {
		return []*pipeline.Message{in}, nil
	}
	defer func() {
		if r := recover(); r != nil {
			outs, err = nil, fmt.Errorf("mapping failed: %s", panicText(r))
		}
	}()
	if !m.decodes {
		out, err := m.finish(in, in.Value)
		if err != nil {
			return nil, err
		}
		return []*pipeline.Message{out}, nil
	}
	values, err := m.transform(in)
	if err != nil {
		return nil, err
	}
	outs = make([]*pipeline.Message, 0, len(values))
	for _, v := range values {
		out, err := m.finish(in, v)
		if err != nil {
			return nil, err
		}
		outs = append(outs, out)
	}
	return outs, nil
}

// transform decodes the payload, applies the field operations and jq, and re-encodes.
func (m *Mapper) transform(in *pipeline.Message) ([][]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(in.Value))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("payload is not valid JSON: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("payload is not valid JSON: trailing data after the value")
	}
	obj, isObj := doc.(map[string]any)
	if needsObject := m.include != nil || len(m.renames) > 0 || len(m.static) > 0 || len(m.headersToFields) > 0; needsObject && !isObj {
		return nil, fmt.Errorf("payload is a JSON %s, not an object", jsonKind(doc))
	}
	if obj != nil {
		var err error
		if obj, err = m.applyFields(in, obj); err != nil {
			return nil, err
		}
		doc = obj
	}
	if m.jq == nil {
		b, err := json.Marshal(doc)
		return [][]byte{b}, err
	}
	return m.jq.run(doc)
}

func (m *Mapper) applyFields(in *pipeline.Message, obj map[string]any) (map[string]any, error) {
	if m.include != nil {
		obj = m.include.apply(obj)
	}
	if err := applyRenames(obj, m.renames); err != nil {
		return nil, err
	}
	for k, v := range m.static {
		obj[k] = v
	}
	for h, field := range m.headersToFields {
		if v := in.Header(h); v != nil {
			obj[field] = string(v)
		}
	}
	return obj, nil
}

// errorText is err.Error(), or a description of err when its Error method panics.
func errorText(err error) (s string) {
	defer func() {
		if recover() != nil {
			s = fmt.Sprintf("%T (its message cannot be shown)", err)
		}
	}()
	return err.Error()
}

// panicText describes a recovered panic value without letting it panic again.
func panicText(r any) string {
	if err, ok := r.(error); ok {
		return errorText(err)
	}
	return fmt.Sprintf("%v", r)
}

// finish builds the output message for payload: key, routing, headers and envelope.
func (m *Mapper) finish(in *pipeline.Message, payload []byte) (*pipeline.Message, error) {
	out := in.Clone()
	out.Value = payload
	if m.key != nil {
		raw, err := lookup(payload, *m.key)
		if err != nil {
			return nil, fmt.Errorf("key: %w", err)
		}
		s, err := scalarText(raw)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", m.key.Text, err)
		}
		out.Key = []byte(s)
	}
	if m.topic != nil {
		t, err := m.topic.render(payload)
		if err != nil {
			return nil, err
		}
		if !isTopicName(t) {
			return nil, fmt.Errorf("topic template %q gave %q, which is not a valid Kafka topic name", m.topic.text, t)
		}
		out.TargetTopic = t
	}
	if m.stream != nil {
		s, err := m.stream.render(payload)
		if err != nil {
			return nil, err
		}
		out.TargetStream = s
	}
	for _, fh := range m.fieldsToHeaders {
		raw, err := lookup(payload, fh.ptr)
		if err != nil {
			return nil, fmt.Errorf("fields_to_headers: %w", err)
		}
		s, err := scalarText(raw)
		if err != nil {
			return nil, fmt.Errorf("fields_to_headers %s: %w", fh.ptr.Text, err)
		}
		out.Headers = append(out.Headers, pipeline.Header{Key: fh.header, Value: []byte(s)})
	}
	if m.envelope {
		out.Value = envelope(out, payload)
	}
	return out, nil
}

// envelope wraps payload with the message's metadata, appending bytes (payload is not decoded).
func envelope(msg *pipeline.Message, payload []byte) []byte {
	b := make([]byte, 0, len(payload)+160)
	b = append(b, '{')
	if msg.Stream != "" {
		b = append(b, `"stream":`...)
		b = appendJSONString(b, msg.Stream)
		b = append(b, ',')
	}
	if msg.Topic != "" {
		b = append(b, `"topic":`...)
		b = appendJSONString(b, msg.Topic)
		b = append(b, `,"partition":`...)
		b = fmt.Appendf(b, "%d", msg.Partition)
		b = append(b, `,"offset":`...)
		b = fmt.Appendf(b, "%d", msg.Offset)
		b = append(b, ',')
	}
	b = append(b, `"receivedAt":`...)
	b = appendJSONString(b, msg.ReceivedAt.UTC().Format(time.RFC3339Nano))
	if msg.Key != nil {
		b = append(b, `,"key":`...)
		b = appendJSONString(b, string(msg.Key))
	}
	b = append(b, `,"payload":`...)
	b = append(b, payload...)
	return append(b, '}')
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // marshalling a string cannot fail
	return append(b, q...)
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	default:
		return "object"
	}
}

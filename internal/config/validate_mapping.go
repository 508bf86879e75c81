package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/itchyny/gojq"

	"github.com/seabridge/seabridge/internal/streamsea"
)

func (v *validator) mapping(path string, m Mapping, sink Endpoint) {
	if m.Key != "" {
		v.pointer(path+".key", m.Key)
	}
	if m.Topic != "" {
		v.template(path+".topic", m.Topic, true)
	}
	if m.Stream != "" {
		v.template(path+".stream", m.Stream, false)
	}
	v.onlyForSink(path, sink, EndpointKafka, "key", m.Key != "")
	v.onlyForSink(path, sink, EndpointKafka, "topic", m.Topic != "")
	v.onlyForSink(path, sink, EndpointKafka, "envelope", m.Envelope)
	v.onlyForSink(path, sink, EndpointStreamsea, "stream", m.Stream != "")
	for i, f := range m.Include {
		at := fmt.Sprintf("%s.include[%d]", path, i)
		if strings.HasPrefix(f, "/") {
			v.pointer(at, f)
		} else if f == "" {
			v.add(at, "must be a field name or a JSON pointer")
		}
	}
	v.pairs(path+".rename", m.Rename, false)
	v.pairs(path+".headers_to_fields", m.HeadersToFields, false)
	v.pairs(path+".fields_to_headers", m.FieldsToHeaders, true)
	for _, k := range sortedKeys(m.Static) {
		if k == "" {
			v.add(path+".static", "a field name must not be empty")
		}
	}
	if m.JQ != "" {
		v.jq(path+".jq", m.JQ)
	}
}

func (v *validator) onlyForSink(path string, sink, owner Endpoint, key string, set bool) {
	if set && sink != owner && (sink == EndpointKafka || sink == EndpointStreamsea) {
		v.add(path+"."+key, "only applies to a %s sink", owner)
	}
}

// pairs checks a table of non-empty names; keys are JSON pointers when pointerKeys.
func (v *validator) pairs(path string, m map[string]string, pointerKeys bool) {
	for _, k := range sortedKeys(m) {
		at := fmt.Sprintf("%s[%q]", path, k)
		switch {
		case pointerKeys:
			v.pointer(at, k)
		case k == "":
			v.add(path, "a name must not be empty")
		}
		if m[k] == "" {
			v.add(at, "must not be empty")
		}
	}
}

func (v *validator) pointer(path, p string) {
	if err := checkPointer(p); err != nil {
		v.add(path, "%q: %v", p, err)
	}
}

// checkPointer accepts a non-empty RFC 6901 JSON pointer.
func checkPointer(p string) error {
	if !strings.HasPrefix(p, "/") {
		return errors.New("a JSON pointer starts with '/'")
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '~' && (i+1 == len(p) || p[i+1] != '0' && p[i+1] != '1') {
			return errors.New("'~' must be followed by '0' or '1'")
		}
	}
	return nil
}

func (v *validator) template(path, t string, topic bool) {
	if err := checkTemplate(t, topic); err != nil {
		v.add(path, "%q: %v", t, err)
	}
}

// checkTemplate accepts literal text with {/json/pointer} placeholders. In a topic template
// the literal text must be made of topic name characters.
func checkTemplate(t string, topic bool) error {
	rest := t
	for rest != "" {
		open := strings.IndexAny(rest, "{}")
		literal := rest
		if open >= 0 {
			literal = rest[:open]
		}
		if topic && strings.IndexFunc(literal, func(r rune) bool { return !isNameRune(r) }) >= 0 {
			return fmt.Errorf("%q holds characters not allowed in a topic name", literal)
		}
		if open < 0 {
			return nil
		}
		if rest[open] == '}' {
			return errors.New("'}' without '{'")
		}
		end := strings.IndexAny(rest[open+1:], "{}")
		if end < 0 || rest[open+1+end] == '{' {
			return errors.New("'{' without '}'")
		}
		if err := checkPointer(rest[open+1 : open+1+end]); err != nil {
			return fmt.Errorf("placeholder {%s}: %w", rest[open+1:open+1+end], err)
		}
		rest = rest[open+1+end+1:]
	}
	return nil
}

func (v *validator) jq(path, expr string) {
	q, err := gojq.Parse(expr)
	if err == nil {
		_, err = gojq.Compile(q)
	}
	if err != nil {
		v.add(path, "%v", err)
	}
}

// schema reports the rules of stream-sea schema definitions that s breaks, one error per
// problem, each at the path of its field.
func (v *validator) schema(path string, s *streamsea.Schema) {
	for _, problem := range schemaProblems(s.Check()) {
		at, msg, ok := strings.Cut(problem, ": ")
		if !ok {
			at, msg = "", problem
		}
		v.errs.add(strings.TrimSuffix(path+"."+at, "."), msg)
	}
}

// schemaProblems splits a streamsea.SchemaError into its problems.
func schemaProblems(err error) []string {
	var se *streamsea.SchemaError
	if errors.As(err, &se) {
		return se.Problems
	}
	if err != nil {
		return []string{err.Error()}
	}
	return nil
}

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

// schema checks the structure of an inline or file schema: a positive version, and fields
// with names, known types, enum values only on enums and nested fields only on objects.
func (v *validator) schema(path string, s *streamsea.Schema) {
	if s.Version < 1 {
		v.add(path+".version", "must be at least 1, not %d", s.Version)
	}
	if len(s.Fields) == 0 {
		v.add(path+".fields", "must not be empty")
	}
	v.fields(path+".fields", s.Fields)
}

func (v *validator) fields(path string, fields []streamsea.Field) {
	seen := map[string]bool{}
	for i, f := range fields {
		at := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case f.Name == "":
			v.add(at+".name", "required")
		case seen[f.Name]:
			v.add(at+".name", "%q is defined twice", f.Name)
		}
		seen[f.Name] = true
		v.field(at, f)
	}
}

func (v *validator) field(path string, f streamsea.Field) {
	switch f.Type {
	case streamsea.TypeString, streamsea.TypeFloat, streamsea.TypeInteger, streamsea.TypeDate,
		streamsea.TypeStringArray, streamsea.TypeFloatArray, streamsea.TypeIntegerArray,
		streamsea.TypeDateArray:
	case streamsea.TypeEnum:
		if len(f.Enum) == 0 {
			v.add(path+".enum", "an enum field needs its values")
		}
	case streamsea.TypeObject, streamsea.TypeObjectArray:
		if len(f.Fields) == 0 {
			v.add(path+".fields", "an %s field needs its fields", f.Type)
		}
		v.fields(path+".fields", f.Fields)
	default:
		v.add(path+".type", "%q is not a stream-sea field type", string(f.Type))
		return
	}
	if f.Type != streamsea.TypeEnum && len(f.Enum) > 0 {
		v.add(path+".enum", "only an enum field has values")
	}
	if f.Type != streamsea.TypeObject && f.Type != streamsea.TypeObjectArray && len(f.Fields) > 0 {
		v.add(path+".fields", "only an object field has fields")
	}
}

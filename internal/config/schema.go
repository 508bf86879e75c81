package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/seabridge/seabridge/internal/streamsea"
)

//go:generate go run ./schemagen -example ../../config.example.toml -out ../../docs/config.schema.json

// durationPattern matches the Go durations the config accepts: "250ms", "1m30s", "0s".
const durationPattern = `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$|^0$`

// JSONSchema returns the JSON Schema of the config file, generated from the Config types so
// that it cannot drift from them: every key with its type, its values (enum tags), its default
// (Default, DefaultStreamsea, DefaultKafka, DefaultPipeline) and its description, read from
// example (config.example.toml, where each key is documented once). Objects refuse unknown
// keys, as Load does. It is draft-07 written with the keywords draft-04 tools know too
// (definitions, allOf), for editors such as Taplo. Rules between keys (required keys, keys of
// the other source or sink type, references between sections) are left to bridge validate.
func JSONSchema(example []byte) ([]byte, error) {
	g := &schemaGen{docs: exampleDocs(example), defs: map[string]any{}}
	root := g.object(reflect.TypeFor[Config]())
	root["$schema"] = "http://json-schema.org/draft-07/schema#"
	root["title"] = "seabridge configuration"
	root["description"] = "The TOML config of bridge run, bridge validate and bridge dev. Every key and its default: config.example.toml."
	root["$comment"] = "Generated from internal/config by go generate ./internal/config; do not edit."
	root["definitions"] = g.defs
	b, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("config schema: %w", err)
	}
	return append(b, '\n'), nil
}

type schemaGen struct {
	docs map[docKey]string
	defs map[string]any
}

// object is the schema of struct type t: one property per key.
func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	for i := range t.NumField() {
		f := t.Field(i)
		key := keyOf(f)
		if key == "" {
			continue
		}
		p := g.value(f.Type)
		if d := g.describe(t, key); d != "" {
			p["description"] = d
		}
		if values, ok := enumTag(t, key); ok {
			p["enum"] = values
		}
		if def, ok := defaultOf(t, key); ok {
			p["default"] = def
		}
		props[key] = p
	}
	return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
}

// describe is a key's documentation, with the source or sink type it belongs to.
func (g *schemaGen) describe(t reflect.Type, key string) string {
	d := g.docs[docKey{t, key}]
	var owner Endpoint
	switch t {
	case reflect.TypeFor[Source]():
		owner = sourceKeyOwner(key)
	case reflect.TypeFor[Sink]():
		owner = sinkKeyOwner(key)
	}
	if owner == "" {
		return d
	}
	what := map[reflect.Type]string{reflect.TypeFor[Source](): "source", reflect.TypeFor[Sink](): "sink"}[t]
	if d == "" {
		return fmt.Sprintf("(%s %s only)", owner, what)
	}
	return fmt.Sprintf("%s (%s %s only)", d, owner, what)
}

// value is the schema of a value of type t.
func (g *schemaGen) value(t reflect.Type) map[string]any {
	switch t {
	case reflect.TypeFor[time.Duration]():
		return map[string]any{"type": "string", "pattern": durationPattern}
	case reflect.TypeFor[streamsea.FieldType]():
		return map[string]any{"type": "string", "enum": streamsea.FieldTypes}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Pointer:
		return g.value(t.Elem())
	case reflect.Struct:
		return map[string]any{"allOf": []any{g.ref(t)}}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.value(t.Elem())}
	case reflect.Map:
		if t.Elem().Kind() == reflect.Interface {
			return map[string]any{"type": "object"} // any TOML values
		}
		return map[string]any{"type": "object", "additionalProperties": g.value(t.Elem())}
	}
	return map[string]any{}
}

// ref defines struct type t once under definitions and refers to it.
func (g *schemaGen) ref(t reflect.Type) map[string]any {
	name := t.Name()
	if _, done := g.defs[name]; !done {
		g.defs[name] = nil // recursive types (a schema field's fields) refer to it meanwhile
		g.defs[name] = g.object(t)
	}
	return map[string]any{"$ref": "#/definitions/" + name}
}

// defaultOf returns the default of the key of struct type t, in its TOML form, when it has one.
// A source or sink key takes the defaults of the type it belongs to; a key of both types has a
// default only when both types agree.
func defaultOf(t reflect.Type, key string) (any, bool) {
	p := DefaultPipeline("", "")
	var table any
	switch t {
	case reflect.TypeFor[Bridge]():
		table = Default().Bridge
	case reflect.TypeFor[HTTP]():
		table = Default().HTTP
	case reflect.TypeFor[StreamseaConnection]():
		table = DefaultStreamsea()
	case reflect.TypeFor[KafkaConnection]():
		table = DefaultKafka()
	case reflect.TypeFor[Pipeline]():
		table = p
	case reflect.TypeFor[Batch]():
		table = p.Batch
	case reflect.TypeFor[Retry]():
		table = p.Retry
	case reflect.TypeFor[DeadLetter]():
		table = p.DeadLetter
	case reflect.TypeFor[Spool]():
		table = p.Spool
	case reflect.TypeFor[Mapping]():
		table = p.Mapping
	case reflect.TypeFor[TLS](), reflect.TypeFor[SASL]():
		table = reflect.Zero(t).Interface()
	case reflect.TypeFor[Source]():
		return typedDefault(key, sourceKeyOwner(key), func(e Endpoint) any { return DefaultSource(e) })
	case reflect.TypeFor[Sink]():
		return typedDefault(key, sinkKeyOwner(key), func(e Endpoint) any { return DefaultSink(e) })
	default:
		return nil, false
	}
	return tomlDefault(table, key)
}

func typedDefault(key string, owner Endpoint, defaults func(Endpoint) any) (any, bool) {
	if owner != "" {
		return tomlDefault(defaults(owner), key)
	}
	a, okA := tomlDefault(defaults(EndpointStreamsea), key)
	b, okB := tomlDefault(defaults(EndpointKafka), key)
	if !okA || !okB || !reflect.DeepEqual(a, b) {
		return nil, false
	}
	return a, true
}

// tomlDefault is the value of key in the struct table as written in TOML: durations as
// strings; nothing for tables, empty lists and an unset endpoint type.
func tomlDefault(table any, key string) (any, bool) {
	v := reflect.ValueOf(table)
	f, ok := fieldByKey(v.Type(), key)
	if !ok {
		return nil, false
	}
	fv := v.FieldByIndex(f.Index)
	switch x := fv.Interface().(type) {
	case time.Duration:
		return shortDuration(x), true
	case Endpoint:
		return string(x), x != ""
	case Secret:
		return x.Value(), true
	}
	switch fv.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64:
		return fv.Interface(), true
	case reflect.Slice:
		if fv.Len() == 0 {
			return nil, false
		}
		return fv.Interface(), true
	}
	return nil, false
}

// shortDuration is d as a TOML author writes it: "1h", "1m", not "1h0m0s", "1m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

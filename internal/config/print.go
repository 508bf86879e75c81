package config

import (
	"fmt"
	"reflect"
	"time"

	koanftoml "github.com/knadh/koanf/parsers/toml/v2"
	"github.com/pelletier/go-toml/v2"

	"github.com/seabridge/seabridge/internal/streamsea"
)

// String prints the configuration as TOML with every secret shown as "[redacted]", for
// `bridge validate --print` and for logs.
func (c *Config) String() string {
	m, _ := printable(reflect.ValueOf(*c)).(map[string]any)
	b, err := koanftoml.Parser().Marshal(m)
	if err != nil {
		return fmt.Sprintf("<config cannot be printed: %v>", err)
	}
	return string(b)
}

// printable converts a config value into TOML-ready maps, slices and scalars, keyed by the
// koanf tags. Secrets are redacted; durations print as "1m30s".
func printable(v reflect.Value) any {
	switch x := v.Interface().(type) {
	case Secret:
		return x.String()
	case time.Duration:
		return x.String()
	case *streamsea.Schema:
		return printableSchema(x)
	case time.Time, toml.LocalDateTime, toml.LocalDate, toml.LocalTime:
		return x // TOML values of mapping.static, printed as the TOML they were
	}
	switch v.Kind() {
	case reflect.Struct:
		return printableStruct(v)
	case reflect.Map:
		out := make(map[string]any, v.Len())
		for _, k := range v.MapKeys() {
			if p := printable(v.MapIndex(k)); p != nil {
				out[fmt.Sprint(k.Interface())] = p
			}
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return nil // unset, e.g. the topics of a stream-sea source: printing [] would set it
		}
		if v.Type().Elem().Kind() == reflect.Struct {
			out := make([]map[string]any, v.Len())
			for i := range out {
				out[i] = printableStruct(v.Index(i))
			}
			return out
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = printable(v.Index(i))
		}
		return out
	case reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return printable(v.Elem())
	}
	return v.Interface()
}

func printableStruct(v reflect.Value) map[string]any {
	out := make(map[string]any, v.NumField())
	for i := range v.NumField() {
		key := v.Type().Field(i).Tag.Get("koanf")
		if key == "" || key == "-" {
			continue
		}
		p := printable(v.Field(i))
		if u, ok := p.(string); ok && key == "url" {
			p = shownURL(u)
		}
		if p != nil {
			out[key] = p
		}
	}
	return out
}

// printableSchema prints a schema in its wire form, or nothing when there is none.
func printableSchema(s *streamsea.Schema) any {
	if s == nil {
		return nil
	}
	return map[string]any{"name": s.Name, "version": int64(s.Version), "fields": printableFields(s.Fields)}
}

func printableFields(fields []streamsea.Field) []map[string]any {
	out := make([]map[string]any, len(fields))
	for i, f := range fields {
		m := map[string]any{"name": f.Name, "type": string(f.Type)}
		if len(f.Enum) > 0 {
			m["enum"] = f.Enum
		}
		if len(f.Fields) > 0 {
			m["fields"] = printableFields(f.Fields)
		}
		out[i] = m
	}
	return out
}

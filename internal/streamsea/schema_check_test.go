package streamsea

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSchema(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string // a substring; "" means success
	}{
		{"protocol example", `{"name":"portCall","version":2,"fields":[
			{"name":"portCallKey","type":"string"},{"name":"arrival","type":"date"},
			{"name":"berthingSide","type":"enum","enum":["starboard","port"]},
			{"name":"moves","type":"array<object>","fields":[{"name":"load","type":"string"}]}]}`, ""},
		{"string version", `{"name":"a","version":"3","fields":[{"name":"x","type":"float"}]}`, ""},
		{"unknown top-level key", `{"name":"a","version":1,"fields":[],"extra":1}`, `unknown field "extra"`},
		{"unknown field key", `{"name":"a","version":1,"fields":[{"name":"x","type":"float","required":true}]}`, `unknown field "required"`},
		{"trailing data", `{"name":"a","version":1,"fields":[]} {}`, "unexpected data after the definition"},
		{"not an object", `[1]`, "decode schema"},
		{"bad version", `{"name":"a","version":1.5,"fields":[]}`, "not a whole number"},
		{"rule broken", `{"name":"","version":1,"fields":[]}`, "name: must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSchema([]byte(tt.in))
			if tt.wantErr == "" {
				if err != nil || s == nil {
					t.Fatalf("ParseSchema = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseSchema error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestSchemaCheck(t *testing.T) {
	obj := func(name string, fields ...Field) Field { return Field{Name: name, Type: TypeObject, Fields: fields} }
	str := func(name string) Field { return Field{Name: name, Type: TypeString} }
	tests := []struct {
		name   string
		schema Schema
		want   []string // every problem, in order; nil means valid
	}{
		{"valid, every type", Schema{Name: "s", Version: 1, Fields: []Field{
			str("a"), {Name: "b", Type: TypeFloat}, {Name: "c", Type: TypeInteger}, {Name: "d", Type: TypeDate},
			{Name: "e", Type: TypeStringArray}, {Name: "f", Type: TypeFloatArray}, {Name: "g", Type: TypeIntegerArray},
			{Name: "h", Type: TypeDateArray}, {Name: "i", Type: TypeEnum, Enum: []string{"x"}}, obj("j", str("a")),
			{Name: "k", Type: TypeObjectArray, Fields: []Field{str("a"), obj("b", str("a"))}}}}, nil},
		{"no fields at top level", Schema{Name: "s"}, nil},
		{"same name at different levels", Schema{Name: "s", Fields: []Field{str("a"), obj("o", str("a"))}}, nil},
		{"empty name", Schema{Fields: []Field{str("a")}}, []string{"name: must not be empty"}},
		{"negative version", Schema{Name: "s", Version: -1}, []string{"version: must not be negative, got -1"}},
		{"unknown type nested", Schema{Name: "s", Fields: []Field{str("a"), str("b"),
			{Name: "moves", Type: TypeObjectArray, Fields: []Field{{Name: "load", Type: "strng"}}}}},
			[]string{`fields[2] (moves).fields[0] (load): unknown type "strng"`}},
		{"empty field name", Schema{Name: "s", Fields: []Field{{Type: TypeString}}},
			[]string{"fields[0]: name must not be empty"}},
		{"duplicate field", Schema{Name: "s", Fields: []Field{str("a"), str("b"), str("a")}},
			[]string{"fields[2] (a): duplicate name, also fields[0]"}},
		{"enum without values", Schema{Name: "s", Fields: []Field{{Name: "e", Type: TypeEnum}}},
			[]string{"fields[0] (e): enum needs at least one value"}},
		{"enum duplicate value and fields", Schema{Name: "s", Fields: []Field{{Name: "e", Type: TypeEnum,
			Enum: []string{"x", "y", "x"}, Fields: []Field{str("a")}}}},
			[]string{`fields[0] (e): duplicate enum value "x"`, "fields[0] (e): enum must not have fields"}},
		{"object without fields", Schema{Name: "s", Fields: []Field{{Name: "o", Type: TypeObject, Enum: []string{"x"}}}},
			[]string{"fields[0] (o): object needs at least one field", "fields[0] (o): object must not have enum values"}},
		{"array<object> without fields", Schema{Name: "s", Fields: []Field{{Name: "o", Type: TypeObjectArray}}},
			[]string{"fields[0] (o): array<object> needs at least one field"}},
		{"scalar with extras", Schema{Name: "s", Fields: []Field{{Name: "a", Type: TypeDateArray,
			Enum: []string{"x"}, Fields: []Field{str("b")}}}},
			[]string{"fields[0] (a): array<date> must not have enum values", "fields[0] (a): array<date> must not have fields"}},
		{"all at once, deep", Schema{Fields: []Field{obj("o", obj("p", Field{Name: "q", Type: "int"}, str("")))}},
			[]string{"name: must not be empty", `fields[0] (o).fields[0] (p).fields[0] (q): unknown type "int"`,
				"fields[0] (o).fields[0] (p).fields[1]: name must not be empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.schema.Check()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			var serr *SchemaError
			if !errors.As(err, &serr) {
				t.Fatalf("Check = %v, want *SchemaError", err)
			}
			if strings.Join(serr.Problems, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(serr.Problems, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

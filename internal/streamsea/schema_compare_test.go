package streamsea

import (
	"reflect"
	"strings"
	"testing"
)

func compareFixture() *Schema {
	return &Schema{Name: "portCall", Version: 2, Fields: []Field{
		{Name: "key", Type: TypeString},
		{Name: "side", Type: TypeEnum, Enum: []string{"starboard", "port"}},
		{Name: "moves", Type: TypeObjectArray, Fields: []Field{
			{Name: "load", Type: TypeString},
			{Name: "at", Type: TypeDate},
			{Name: "crane", Type: TypeObject, Fields: []Field{{Name: "id", Type: TypeInteger}, {Name: "tags", Type: TypeStringArray}}},
		}},
	}}
}

func TestSameDefinitionAndDiff(t *testing.T) {
	tests := []struct {
		name   string
		change func(s *Schema)
		want   []string // Diff from the fixture; nil means the same definition
	}{
		{"identical", func(*Schema) {}, nil},
		{"version only", func(s *Schema) { s.Version = 9 }, nil},
		{"top fields reordered", func(s *Schema) { s.Fields[0], s.Fields[2] = s.Fields[2], s.Fields[0] }, nil},
		{"nested fields reordered", func(s *Schema) {
			m := s.Fields[2].Fields
			m[0], m[2] = m[2], m[0]
			c := m[0].Fields
			c[0], c[1] = c[1], c[0]
		}, nil},
		{"enum reordered", func(s *Schema) { s.Fields[1].Enum = []string{"port", "starboard"} }, nil},
		{"name", func(s *Schema) { s.Name = "other" }, []string{`name changed from "portCall" to "other"`}},
		{"field removed", func(s *Schema) { s.Fields = s.Fields[1:] }, []string{`field "key" removed`}},
		{"field added", func(s *Schema) { s.Fields = append(s.Fields, Field{Name: "eta", Type: TypeDate}) },
			[]string{`field "eta" added (date)`}},
		{"type changed", func(s *Schema) { s.Fields[0].Type = TypeInteger },
			[]string{`field "key": type changed from string to integer`}},
		{"enum changed", func(s *Schema) { s.Fields[1].Enum = []string{"port", "bow", "aft"} },
			[]string{`field "side": enum values added ["aft" "bow"], removed ["starboard"]`}},
		{"nested changes", func(s *Schema) {
			m := s.Fields[2].Fields
			m[1].Type = TypeString
			m[2].Fields = []Field{{Name: "id", Type: TypeFloat}, {Name: "tags", Type: TypeStringArray}, {Name: "x", Type: TypeFloat}}
		}, []string{`field "moves.at": type changed from date to string`,
			`field "moves.crane.id": type changed from integer to float`, `field "moves.crane.x" added (float)`}},
		{"object becomes scalar", func(s *Schema) { s.Fields[2] = Field{Name: "moves", Type: TypeString} },
			[]string{`field "moves": type changed from array<object> to string`, `field "moves.at" removed`,
				`field "moves.crane" removed`, `field "moves.load" removed`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := compareFixture()
			other := compareFixture()
			tt.change(other)
			if got := base.SameDefinition(other); got != (tt.want == nil) {
				t.Errorf("SameDefinition = %v, want %v", got, tt.want == nil)
			}
			if got := other.SameDefinition(base); got != (tt.want == nil) {
				t.Errorf("reverse SameDefinition = %v, want %v", got, tt.want == nil)
			}
			if got := base.Diff(other); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Diff:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if base.Equal(other) != (tt.want == nil && base.Version == other.Version) {
				t.Errorf("Equal = %v", base.Equal(other))
			}
		})
	}
}

func TestSchemaNilComparisons(t *testing.T) {
	var none *Schema
	s := compareFixture()
	if !none.SameDefinition(nil) || !none.Equal(nil) || none.Diff(nil) != nil {
		t.Error("two nil schemas should be the same")
	}
	if s.SameDefinition(nil) || none.SameDefinition(s) || s.Equal(nil) || len(s.Diff(nil)) == 0 {
		t.Error("nil and non-nil schemas should differ")
	}
	if none.Clone() != nil || none.Canonical() != nil {
		t.Error("nil should clone to nil")
	}
}

func TestSchemaCloneIsDeep(t *testing.T) {
	s := compareFixture()
	c := s.Clone()
	if !reflect.DeepEqual(s, c) {
		t.Fatalf("clone differs: %+v", c)
	}
	c.Fields[1].Enum[0] = "changed"
	c.Fields[2].Fields[2].Fields[0].Name = "changed"
	if !reflect.DeepEqual(s, compareFixture()) {
		t.Fatal("changing the clone changed the original")
	}
}

func TestSchemaCanonical(t *testing.T) {
	s := &Schema{Name: "s", Version: 3, Fields: []Field{
		{Name: "b", Type: TypeEnum, Enum: []string{"z", "a", "z"}},
		{Name: "a", Type: TypeObject, Fields: []Field{{Name: "y", Type: TypeString}, {Name: "x", Type: TypeFloat}}},
		{Name: "c", Type: TypeString, Enum: []string{}},
	}}
	want := &Schema{Name: "s", Version: 3, Fields: []Field{
		{Name: "a", Type: TypeObject, Fields: []Field{{Name: "x", Type: TypeFloat}, {Name: "y", Type: TypeString}}},
		{Name: "b", Type: TypeEnum, Enum: []string{"a", "z"}},
		{Name: "c", Type: TypeString},
	}}
	if got := s.Canonical(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Canonical = %+v, want %+v", got, want)
	}
	if s.Fields[0].Name != "b" || len(s.Fields[0].Enum) != 3 {
		t.Fatal("Canonical changed its receiver")
	}
}

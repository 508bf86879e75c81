package streamsea

import (
	"fmt"
	"slices"
	"strings"
)

// Clone returns a deep copy of s. A nil schema clones to nil.
func (s *Schema) Clone() *Schema {
	if s == nil {
		return nil
	}
	return &Schema{Name: s.Name, Version: s.Version, Fields: cloneFields(s.Fields)}
}

func cloneFields(fields []Field) []Field {
	if fields == nil {
		return nil
	}
	out := make([]Field, len(fields))
	for i, f := range fields {
		out[i] = Field{Name: f.Name, Type: f.Type, Enum: slices.Clone(f.Enum), Fields: cloneFields(f.Fields)}
	}
	return out
}

// Canonical returns a deep copy of s in a stable order: fields sorted by name (then type) at
// every level, enum values sorted with duplicates removed, empty lists as nil. Two schemas
// have the same definition exactly when their canonical forms are deeply equal.
func (s *Schema) Canonical() *Schema {
	if s == nil {
		return nil
	}
	return &Schema{Name: s.Name, Version: s.Version, Fields: canonicalFields(s.Fields)}
}

func canonicalFields(fields []Field) []Field {
	if len(fields) == 0 {
		return nil
	}
	out := make([]Field, len(fields))
	for i, f := range fields {
		out[i] = Field{Name: f.Name, Type: f.Type, Enum: canonicalEnum(f.Enum), Fields: canonicalFields(f.Fields)}
	}
	slices.SortFunc(out, func(a, b Field) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(string(a.Type), string(b.Type))
	})
	return out
}

func canonicalEnum(values []string) []string {
	if len(values) == 0 {
		return nil
	}
	return slices.Compact(slices.Sorted(slices.Values(values)))
}

// SameDefinition reports whether s and o have the same name and the same fields, compared as
// unordered sets at every level (enum values too). Versions are not compared. Two nil schemas
// are the same; nil and non-nil are not.
func (s *Schema) SameDefinition(o *Schema) bool {
	if s == nil || o == nil {
		return s == o
	}
	return s.Name == o.Name && fieldsEqual(canonicalFields(s.Fields), canonicalFields(o.Fields))
}

// Equal reports whether s and o have the same version and the same definition.
func (s *Schema) Equal(o *Schema) bool {
	if s == nil || o == nil {
		return s == o
	}
	return s.Version == o.Version && s.SameDefinition(o)
}

func fieldsEqual(a, b []Field) bool {
	return slices.EqualFunc(a, b, func(x, y Field) bool {
		return x.Name == y.Name && x.Type == y.Type && slices.Equal(x.Enum, y.Enum) &&
			fieldsEqual(x.Fields, y.Fields)
	})
}

// Diff describes, one line each and in a stable order, how the definition o differs from s:
// a changed name, fields added or removed, changed types and changed enum values, with nested
// fields named by dotted paths ("moves.load"). Versions are not compared. For schemas that
// pass Check, Diff is empty exactly when SameDefinition is true.
func (s *Schema) Diff(o *Schema) []string {
	if s == nil || o == nil {
		if s == o {
			return nil
		}
		return []string{"one schema is missing"}
	}
	var out []string
	if s.Name != o.Name {
		out = append(out, fmt.Sprintf("name changed from %q to %q", s.Name, o.Name))
	}
	return diffFields(out, "", canonicalFields(s.Fields), canonicalFields(o.Fields))
}

// diffFields appends the differences between two canonical field lists under prefix.
func diffFields(out []string, prefix string, a, b []Field) []string {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i].Name < b[j].Name):
			out = append(out, fmt.Sprintf("field %q removed", prefix+a[i].Name))
			i++
		case i == len(a) || b[j].Name < a[i].Name:
			out = append(out, fmt.Sprintf("field %q added (%s)", prefix+b[j].Name, b[j].Type))
			j++
		default:
			out = diffField(out, prefix, a[i], b[j])
			i, j = i+1, j+1
		}
	}
	return out
}

func diffField(out []string, prefix string, a, b Field) []string {
	path := prefix + a.Name
	if a.Type != b.Type {
		out = append(out, fmt.Sprintf("field %q: type changed from %s to %s", path, a.Type, b.Type))
	}
	if added, removed := setDelta(a.Enum, b.Enum); len(added)+len(removed) > 0 {
		out = append(out, fmt.Sprintf("field %q: enum values added %q, removed %q", path, added, removed))
	}
	return diffFields(out, path+".", a.Fields, b.Fields)
}

// setDelta returns the values of sorted b missing from sorted a, and those of a missing from b.
func setDelta(a, b []string) (added, removed []string) {
	for _, v := range b {
		if _, found := slices.BinarySearch(a, v); !found {
			added = append(added, v)
		}
	}
	for _, v := range a {
		if _, found := slices.BinarySearch(b, v); !found {
			removed = append(removed, v)
		}
	}
	return added, removed
}

package streamsea

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// SchemaError lists every problem found in a schema definition. Each problem starts with the
// path of the offending element, e.g. `fields[2] (moves).fields[0] (load): unknown type "strng"`.
type SchemaError struct {
	Name     string
	Problems []string
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("invalid schema %q: %s", e.Name, strings.Join(e.Problems, "; "))
}

// ParseSchema decodes a schema definition strictly (unknown keys and trailing data are
// rejected; key matching is encoding/json's, which ignores case) and checks it. A definition
// that decodes but breaks the rules of Check returns a *SchemaError.
func ParseSchema(b []byte) (*Schema, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s Schema
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("decode schema: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("decode schema: unexpected data after the definition")
	}
	if err := s.Check(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Check reports every rule the definition breaks, as one *SchemaError, or nil. Rules: the name
// is not empty and the version not negative; at every level field names are non-empty and
// unique; types are the eleven of stream-sea; an enum has a non-empty list of distinct values
// and no fields; object and array<object> have at least one nested field and no enum values;
// every other type has neither.
func (s *Schema) Check() error {
	var problems []string
	if s.Name == "" {
		problems = append(problems, "name: must not be empty")
	}
	if s.Version < 0 {
		problems = append(problems, fmt.Sprintf("version: must not be negative, got %d", s.Version))
	}
	problems = checkFields(problems, "", s.Fields)
	if len(problems) > 0 {
		return &SchemaError{Name: s.Name, Problems: problems}
	}
	return nil
}

// checkFields appends the problems of one level of fields, whose parent path is prefix.
func checkFields(problems []string, prefix string, fields []Field) []string {
	seen := make(map[string]int, len(fields))
	for i, f := range fields {
		path := fmt.Sprintf("%sfields[%d]", prefix, i)
		if f.Name != "" {
			path += fmt.Sprintf(" (%s)", f.Name)
		}
		if f.Name == "" {
			problems = append(problems, path+": name must not be empty")
		} else if j, dup := seen[f.Name]; dup {
			problems = append(problems, fmt.Sprintf("%s: duplicate name, also fields[%d]", path, j))
		} else {
			seen[f.Name] = i
		}
		problems = checkField(problems, path, f)
	}
	return problems
}

func checkField(problems []string, path string, f Field) []string {
	switch {
	case f.Type == TypeEnum:
		problems = checkEnum(problems, path, f.Enum)
		if len(f.Fields) > 0 {
			problems = append(problems, path+": enum must not have fields")
		}
	case f.Type == TypeObject || f.Type == TypeObjectArray:
		if len(f.Fields) == 0 {
			problems = append(problems, fmt.Sprintf("%s: %s needs at least one field", path, f.Type))
		}
		if len(f.Enum) > 0 {
			problems = append(problems, fmt.Sprintf("%s: %s must not have enum values", path, f.Type))
		}
		problems = checkFields(problems, path+".", f.Fields)
	case knownType(f.Type):
		if len(f.Enum) > 0 {
			problems = append(problems, fmt.Sprintf("%s: %s must not have enum values", path, f.Type))
		}
		if len(f.Fields) > 0 {
			problems = append(problems, fmt.Sprintf("%s: %s must not have fields", path, f.Type))
		}
	default:
		problems = append(problems, fmt.Sprintf("%s: unknown type %q", path, f.Type))
	}
	return problems
}

func checkEnum(problems []string, path string, values []string) []string {
	if len(values) == 0 {
		return append(problems, path+": enum needs at least one value")
	}
	seen := make(map[string]bool, len(values))
	for _, v := range values {
		if seen[v] {
			problems = append(problems, fmt.Sprintf("%s: duplicate enum value %q", path, v))
		}
		seen[v] = true
	}
	return problems
}

func knownType(t FieldType) bool { return slices.Contains(FieldTypes, t) }

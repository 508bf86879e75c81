package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/seabridge/seabridge/internal/streamsea"
)

// parseDefinition decodes a define body for the given stream. Unknown keys are rejected; a
// missing name means the stream's name. The error is the answer's message; problems, when
// present, its errors list.
func parseDefinition(data []byte, stream string) (*streamsea.Schema, []string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var def streamsea.Schema
	if err := dec.Decode(&def); err != nil {
		return nil, nil, fmt.Errorf("invalid schema definition: %w", err)
	}
	if def.Name == "" {
		def.Name = stream
	}
	if def.Name != stream {
		return nil, nil, fmt.Errorf("the schema name %q must equal the stream name %q", def.Name, stream)
	}
	if err := def.Check(); err != nil {
		var se *streamsea.SchemaError
		if errors.As(err, &se) {
			return nil, se.Problems, fmt.Errorf("invalid schema definition for stream %q", stream)
		}
		return nil, nil, fmt.Errorf("invalid schema definition: %w", err)
	}
	return &def, nil, nil
}

// sameDefinition reports whether two definitions have the same fields, as unordered sets.
func sameDefinition(a, b *streamsea.Schema) bool { return a.SameDefinition(b) }

// validatePayload checks one message against a compiled schema and returns its problems,
// each rendered as "<prefix>.<path>: <message>".
func validatePayload(v *streamsea.Validator, payload []byte, prefix string) []string {
	err := v.Validate(payload)
	if err == nil {
		return nil
	}
	var ve *streamsea.ValidationError
	if !errors.As(err, &ve) {
		return []string{prefix + ": " + err.Error()}
	}
	out := make([]string, 0, len(ve.Problems)+1)
	for _, p := range ve.Problems {
		out = append(out, joinPath(prefix, p.Path)+": "+p.Message)
	}
	if ve.Omitted > 0 {
		out = append(out, fmt.Sprintf("%s: %d more problems not listed", prefix, ve.Omitted))
	}
	return out
}

func joinPath(prefix, path string) string {
	switch {
	case path == "":
		return prefix
	case path[0] == '[':
		return prefix + path
	default:
		return prefix + "." + path
	}
}

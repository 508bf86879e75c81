package streamsea

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func FuzzValidate(f *testing.F) {
	v := newGoldenValidator(f)
	for _, name := range []string{"ok_base", "ok_escaped_strings", "array_object_elements", "malformed_truncated"} {
		b, err := os.ReadFile(filepath.Join("testdata", "validate", name+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if v.root.quickValid(data) {
			if err := v.walk(data); err != nil {
				t.Fatalf("the quick check accepted a payload the walk rejects (%v): %q", err, data)
			}
		}
		err := v.Validate(data)
		if err == nil {
			if !json.Valid(data) {
				t.Fatalf("accepted a payload that encoding/json rejects: %q", data)
			}
			return
		}
		var verr *ValidationError
		if !errors.As(err, &verr) {
			t.Fatalf("error is %T, want *ValidationError", err)
		}
		if len(verr.Problems) == 0 || len(verr.Problems) > MaxProblems {
			t.Fatalf("%d problems", len(verr.Problems))
		}
		if verr.syntax == json.Valid(data) {
			t.Fatalf("syntax error: %v, json.Valid: %v, for %q (%v)", verr.syntax, json.Valid(data), data, err)
		}
	})
}

// FuzzQuickSkip checks that quickSkip accepts only what the token scanner accepts, ending at
// the same place.
func FuzzQuickSkip(f *testing.F) {
	for _, seed := range []string{`{"a":[1,"x",{"b":null}],"c":true}`, `[[],{},"\\u00e9",-1.5e3]`, `{"a" 1}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkQuickSkip(t, data, maxJSONDepth)
		checkQuickSkip(t, data, 2)
	})
}

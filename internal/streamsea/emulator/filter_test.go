package emulator

import (
	"encoding/json"
	"testing"
)

func TestFilterEvaluation(t *testing.T) {
	msg := `{"a":{"b":[10,{"c":"x"}]},"flag":true,"zero":0,"empty":"","nil":null,"name":"DK","n":2.5}`
	tests := []struct {
		name    string
		filter  string
		want    bool
		wantErr bool
	}{
		{"bool true", `{"t":"bool","e":true}`, true, false},
		{"bool false", `{"t":"bool","e":false}`, false, false},
		{"number nonzero", `{"t":"number","e":3}`, true, false},
		{"number zero", `{"t":"number","e":0}`, false, false},
		{"string nonempty", `{"t":"string","e":"a"}`, true, false},
		{"string empty", `{"t":"string","e":""}`, false, false},
		{"null", `{"t":"null"}`, false, false},
		{"path truthy", `{"t":"path","e":"flag"}`, true, false},
		{"path zero", `{"t":"path","e":"zero"}`, false, false},
		{"path empty string", `{"t":"path","e":"empty"}`, false, false},
		{"path null", `{"t":"path","e":"nil"}`, false, false},
		{"path object", `{"t":"path","e":"a"}`, true, false},
		{"path missing", `{"t":"path","e":"nope.deeper"}`, false, false},
		{"path index", `{"t":"eq","e":[{"t":"path","e":"a.b[0]"},{"t":"number","e":10}]}`, true, false},
		{"path index then key", `{"t":"eq","e":[{"t":"path","e":"a.b[1].c"},{"t":"string","e":"x"}]}`, true, false},
		{"path with $ prefix", `{"t":"eq","e":[{"t":"path","e":"$.a.b[1].c"},{"t":"string","e":"x"}]}`, true, false},
		{"path index out of range", `{"t":"path","e":"a.b[5]"}`, false, false},
		{"path into scalar", `{"t":"path","e":"name.x"}`, false, true},
		{"path key of array", `{"t":"path","e":"a.b.c"}`, false, true},
		{"path index of object", `{"t":"path","e":"a[0]"}`, false, true},
		{"eq strings", `{"t":"eq","e":[{"t":"path","e":"name"},{"t":"string","e":"DK"}]}`, true, false},
		{"eq different", `{"t":"eq","e":[{"t":"path","e":"name"},{"t":"string","e":"SE"}]}`, false, false},
		{"eq number", `{"t":"eq","e":[{"t":"path","e":"n"},{"t":"number","e":2.5}]}`, true, false},
		{"eq number vs string", `{"t":"eq","e":[{"t":"number","e":1},{"t":"string","e":"1"}]}`, false, false},
		{"eq null", `{"t":"eq","e":[{"t":"path","e":"nil"},{"t":"null"}]}`, true, false},
		{"eq missing vs null", `{"t":"eq","e":[{"t":"path","e":"nope"},{"t":"null"}]}`, false, false},
		{"eq objects deep", `{"t":"eq","e":[{"t":"path","e":"a"},{"t":"path","e":"$.a"}]}`, true, false},
		{"meta streamName", `{"t":"eq","e":[{"t":"meta","e":"streamName"},{"t":"string","e":"ships"}]}`, true, false},
		{"and all", `{"t":"and","e":[{"t":"bool","e":true},{"t":"path","e":"flag"}]}`, true, false},
		{"and one false", `{"t":"and","e":[{"t":"bool","e":true},{"t":"path","e":"zero"}]}`, false, false},
		{"and empty", `{"t":"and","e":[]}`, true, false},
		{"or one", `{"t":"or","e":[{"t":"bool","e":false},{"t":"path","e":"flag"}]}`, true, false},
		{"or none", `{"t":"or","e":[{"t":"null"},{"t":"path","e":"zero"}]}`, false, false},
		{"or empty", `{"t":"or","e":[]}`, false, false},
		{"or stops at first truthy", `{"t":"or","e":[{"t":"bool","e":true},{"t":"path","e":"name.x"}]}`, true, false},
		{"or error first", `{"t":"or","e":[{"t":"path","e":"name.x"},{"t":"bool","e":true}]}`, false, true},
		{"not", `{"t":"not","e":{"t":"path","e":"zero"}}`, true, false},
		{"not in a list", `{"t":"not","e":[{"t":"path","e":"flag"}]}`, false, false},
		{"not error", `{"t":"not","e":{"t":"path","e":"name.x"}}`, false, true},
	}
	var decoded any
	if err := json.Unmarshal([]byte(msg), &decoded); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := compileFilter(json.RawMessage(tc.filter))
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			got, err := f.Match(decoded, "ships")
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Fatalf("Match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFilterCompileErrors(t *testing.T) {
	for _, src := range []string{
		`3`,
		`{"t":"regex","e":"x"}`,
		`{"t":"string","e":3}`,
		`{"t":"string"}`,
		`{"t":"number","e":"3"}`,
		`{"t":"bool","e":1}`,
		`{"t":"path","e":3}`,
		`{"t":"path","e":""}`,
		`{"t":"path","e":"a..b"}`,
		`{"t":"path","e":"a["}`,
		`{"t":"path","e":"a[x]"}`,
		`{"t":"path","e":"a."}`,
		`{"t":"meta","e":"clientId"}`,
		`{"t":"eq","e":[{"t":"null"}]}`,
		`{"t":"eq","e":{"t":"null"}}`,
		`{"t":"and","e":{"t":"null"}}`,
		`{"t":"or","e":[{"t":"nope"}]}`,
		`{"t":"not","e":[{"t":"null"},{"t":"null"}]}`,
	} {
		if _, err := compileFilter(json.RawMessage(src)); err == nil {
			t.Errorf("%s compiled", src)
		}
	}
}

package mapping

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/seabridge/seabridge/internal/pipeline"
)

// mapOne compiles o, maps payload and returns the single output's value.
func mapOne(t *testing.T, o Options, payload string) string {
	t.Helper()
	m, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	outs, err := m.Map(context.Background(), &pipeline.Message{Value: []byte(payload)})
	if err != nil {
		t.Fatalf("Map: %v", err)
	}
	if len(outs) != 1 {
		t.Fatalf("got %d outputs, want 1", len(outs))
	}
	return string(outs[0].Value)
}

// TestStaticTOMLValues sets every kind of value a TOML decoder produces as static fields,
// with and without jq: each must come out as its documented JSON form.
func TestStaticTOMLValues(t *testing.T) {
	static := map[string]any{
		"s":   "text",
		"i":   int64(1),
		"big": int64(math.MaxInt64),
		"f":   1.5,
		"b":   true,
		"odt": time.Date(1979, 5, 27, 7, 32, 0, 500000000, time.FixedZone("", -8*3600)),
		"utc": time.Date(1979, 5, 27, 7, 32, 0, 0, time.UTC),
		"ldt": toml.LocalDateTime{LocalDate: toml.LocalDate{Year: 1979, Month: 5, Day: 27}, LocalTime: toml.LocalTime{Hour: 7, Minute: 32}},
		"ld":  toml.LocalDate{Year: 1979, Month: 5, Day: 27},
		"lt":  toml.LocalTime{Hour: 7, Minute: 32, Second: 1, Nanosecond: 999000000, Precision: 3},
		"arr": []any{int64(1), "x", []any{false}},
		"tab": map[string]any{"n": int64(2), "in": map[string]any{"when": toml.LocalDate{Year: 2026, Month: 1, Day: 2}}},
	}
	want := `{"arr":[1,"x",[false]],"b":true,"big":9223372036854775807,"f":1.5,"i":1,"id":7,` +
		`"ld":"1979-05-27","ldt":"1979-05-27T07:32:00","lt":"07:32:01.999","odt":"1979-05-27T07:32:00.5-08:00",` +
		`"s":"text","tab":{"in":{"when":"2026-01-02"},"n":2},"utc":"1979-05-27T07:32:00Z"}`
	for _, jq := range []string{"", ".", ". + {}"} {
		got := mapOne(t, Options{Static: static, JQ: jq}, `{"id":7}`)
		if got != want {
			t.Errorf("jq %q:\n got %s\nwant %s", jq, got, want)
		}
	}
	// jq sees the values, not only their encoding: arithmetic on a TOML integer works.
	if got := mapOne(t, Options{Static: map[string]any{"n": int64(41)}, JQ: "{n: (.n + 1)}"}, `{}`); got != `{"n":42}` {
		t.Errorf("jq arithmetic on a static integer: %s", got)
	}
}

func TestStaticWithoutJSONFormIsRejected(t *testing.T) {
	cases := []struct {
		static map[string]any
		want   string
	}{
		{map[string]any{"x": math.NaN()}, `static["x"]: nan has no JSON form`},
		{map[string]any{"x": []any{1.0, math.Inf(-1)}}, `static["x"][1]: -inf has no JSON form`},
		{map[string]any{"x": map[string]any{"y": struct{}{}}}, `static["x"]["y"]: a struct {} has no JSON form`},
		{map[string]any{"": "v"}, `static: a field name must not be empty`},
	}
	for _, c := range cases {
		_, err := New(Options{Static: c.static})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want %q", c.static, err, c.want)
		}
	}
}

// TestPanicIsPoison feeds the mapper a value gojq cannot encode, bypassing New's conversion:
// Map must return an error naming the cause, not panic.
func TestPanicIsPoison(t *testing.T) {
	m, err := New(Options{JQ: "."})
	if err != nil {
		t.Fatal(err)
	}
	m.static = map[string]any{"when": time.Now()}
	outs, err := m.Map(context.Background(), &pipeline.Message{Value: []byte(`{}`)})
	if err == nil || outs != nil {
		t.Fatalf("Map = %v, %v; want an error", outs, err)
	}
	if !strings.Contains(err.Error(), "time.Time") {
		t.Errorf("error %q does not name the cause", err)
	}
	_ = err.Error() // the error itself must be safe to print
}

func TestIncludePointers(t *testing.T) {
	payload := `{"id":1,"a":{"b":{"c":1,"d":2},"e":3},"f":[{"g":1}],"h":"x","s~l/":{"k":true},"n":null}`
	cases := []struct {
		include []string
		want    string
	}{
		{[]string{"id"}, `{"id":1}`},
		{[]string{"/id"}, `{"id":1}`},
		{[]string{"id", "/a/b/c"}, `{"a":{"b":{"c":1}},"id":1}`},
		{[]string{"/a/b/c", "/a/e"}, `{"a":{"b":{"c":1},"e":3}}`},
		{[]string{"/a/b", "/a/b/c"}, `{"a":{"b":{"c":1,"d":2}}}`},
		{[]string{"/a/b/c", "a"}, `{"a":{"b":{"c":1,"d":2},"e":3}}`},
		{[]string{"/f/0/g", "/h/x", "/n/x", "/missing/y"}, `{}`}, // only through objects
		{[]string{"/s~0l~1/k"}, `{"s~l/":{"k":true}}`},
		{[]string{"/a/zz"}, `{}`},
	}
	for _, c := range cases {
		if got := mapOne(t, Options{Include: c.include}, payload); got != c.want {
			t.Errorf("include %q:\n got %s\nwant %s", c.include, got, c.want)
		}
	}
}

func TestRenameIsSimultaneousAndStrict(t *testing.T) {
	// A swap is not a chain here: both are applied at once, every time.
	for range 50 {
		if got := mapOne(t, Options{Rename: map[string]string{"a": "x", "b": "y", "c": "z"}}, `{"a":1,"b":2,"c":3}`); got != `{"x":1,"y":2,"z":3}` {
			t.Fatalf("rename: %s", got)
		}
	}
	bad := []struct {
		o    Options
		want string
	}{
		{Options{Rename: map[string]string{"a": "b", "b": "c"}}, `rename["a"]: "a" is renamed to "b", which is renamed too (to "c"): rename each field straight to its final name`},
		{Options{Rename: map[string]string{"a": "c", "b": "c"}}, `rename["b"]: "a" and "b" are both renamed to "c"`},
		{Options{Rename: map[string]string{"a": "a"}}, `rename["a"]: renames "a" to itself`},
		{Options{Rename: map[string]string{"a": ""}}, `rename["a"]: must not be empty`},
		{Options{Rename: map[string]string{"": "a"}}, `rename: a field name must not be empty`},
		{Options{Rename: map[string]string{"a": "c"}, Static: map[string]any{"c": 1}}, `rename["a"]: its new name "c" is also set by static, which would overwrite it`},
		{Options{Rename: map[string]string{"a": "c"}, Include: []string{"b"}}, `rename["a"]: "a" is not kept by include, so it is never renamed`},
	}
	for _, c := range bad {
		_, err := New(c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v\nwant %q", c.o, err, c.want)
		}
		var list Errors
		if err != nil && !errors.As(err, &list) {
			t.Errorf("%+v: %T is not Errors", c.o, err)
		}
	}
	// Include through a pointer keeps the field to rename.
	if got := mapOne(t, Options{Rename: map[string]string{"a": "c"}, Include: []string{"/a/b"}}, `{"a":{"b":1,"x":2}}`); got != `{"c":{"b":1}}` {
		t.Errorf("rename after pointer include: %s", got)
	}
}

// TestRenameOntoExistingFieldIsPoison: a payload that holds both the old and the new name
// would lose one of them.
func TestRenameOntoExistingFieldIsPoison(t *testing.T) {
	m, err := New(Options{Rename: map[string]string{"a": "c"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Map(context.Background(), &pipeline.Message{Value: []byte(`{"a":1,"c":2}`)})
	if err == nil || !strings.Contains(err.Error(), `rename "a" to "c": the payload already has "c"`) {
		t.Fatalf("err = %v", err)
	}
	if got := mapOne(t, Options{Rename: map[string]string{"a": "c"}}, `{"c":2}`); got != `{"c":2}` {
		t.Errorf("without the old name nothing is renamed: %s", got)
	}
}

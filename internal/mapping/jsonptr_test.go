package mapping

import (
	"errors"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	doc := []byte(` {"a": {"b c": [10, {"d": "x\"y"}, null]}, "m~n": 1, "p/q": true, "esc\u0061": "E", "e": {}, "f": []}`)
	cases := []struct {
		ptr, want string
		notFound  bool
	}{
		{"", string(doc[1:]), false},
		{"/a/b c/0", "10", false},
		{"/a/b c/1/d", `"x\"y"`, false},
		{"/a/b c/2", "null", false},
		{"/m~0n", "1", false},
		{"/p~1q", "true", false},
		{"/esca", `"E"`, false},
		{"/a/b c/3", "", true},
		{"/a/b c/01", "", true},
		{"/a/missing", "", true},
		{"/e/x", "", true},
		{"/f/0", "", true},
		{"/m~0n/x", "", true},
	}
	for _, c := range cases {
		p, err := parsePointer(c.ptr)
		if err != nil {
			t.Fatalf("%q: %v", c.ptr, err)
		}
		got, err := lookup(doc, p)
		if c.notFound {
			if !errors.Is(err, errNotFound) {
				t.Errorf("%q: err = %v, want not found", c.ptr, err)
			}
			continue
		}
		if err != nil || string(got) != c.want {
			t.Errorf("%q: got %q, %v; want %q", c.ptr, got, err, c.want)
		}
	}
}

func TestParsePointerErrors(t *testing.T) {
	for _, s := range []string{"a", "/a~2", "/~"} {
		if _, err := parsePointer(s); err == nil {
			t.Errorf("%q: expected an error", s)
		}
	}
}

func TestTemplate(t *testing.T) {
	payload := []byte(`{"site":"aarhus","n":7,"empty":"","nil":null}`)
	cases := []struct{ tmpl, want, err string }{
		{"plain", "plain", ""},
		{"port.{/site}.{/n}", "port.aarhus.7", ""},
		{"{{lit}}.{/site}", "{lit}.aarhus", ""},
		{"x.{/missing}", "", "not found"},
		{"x.{/empty}", "", "null or empty"},
		{"x.{/nil}", "", "null or empty"},
	}
	for _, c := range cases {
		tp, err := parseTemplate(c.tmpl)
		if err != nil {
			t.Fatalf("%q: %v", c.tmpl, err)
		}
		got, err := tp.render(payload)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err = %v, want %q", c.tmpl, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: got %q, %v; want %q", c.tmpl, got, err, c.want)
		}
	}
	for _, bad := range []string{"a.{/x", "a.}", "a.{}", "a.{x}"} {
		if _, err := parseTemplate(bad); err == nil {
			t.Errorf("%q: expected a parse error", bad)
		}
	}
}

func FuzzLookup(f *testing.F) {
	f.Add([]byte(`{"a":{"b":[1,2,{"c":"d"}]}}`), "/a/b/2/c")
	f.Add([]byte(`[1,"x",null]`), "/1")
	f.Add([]byte(`{"a":`), "/a")
	f.Add([]byte(`"\"`), "/x")
	f.Fuzz(func(t *testing.T, doc []byte, ptr string) {
		p, err := parsePointer(ptr)
		if err != nil {
			return
		}
		_, _ = lookup(doc, p) // must not panic on any input
	})
}

package reliability

import (
	"strings"
	"testing"
)

func TestConfigSetAndTOML(t *testing.T) {
	c := &Config{}
	c.Set("bridge.shutdown_timeout", "1s")
	c.Set("pipelines", []map[string]any{{"name": "p"}})
	c.Set("pipelines.0.sink.topic", "t")
	c.Raw = "[pipelines.mapping]\nstatic = { at = 1979-05-27T07:32:00Z }"
	if got := c.Get("pipelines.0.sink.topic"); got != "t" {
		t.Fatalf("Get = %v", got)
	}
	if c.Get("pipelines.1.name") != nil || c.Get("nope.x") != nil {
		t.Fatal("Get of a missing path is not nil")
	}
	text, err := c.TOML()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[bridge]\nshutdown_timeout = '1s'", "[[pipelines]]\nname = 'p'", "[pipelines.sink]\ntopic = 't'",
		"[pipelines.mapping]\nstatic = { at = 1979-05-27T07:32:00Z }\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("TOML lacks %q:\n%s", want, text)
		}
	}
	if !strings.HasSuffix(text, c.Raw+"\n") {
		t.Errorf("Raw is not the last table:\n%s", text)
	}
}

func TestConfigSetThroughAScalarPanics(t *testing.T) {
	c := &Config{}
	c.Set("a", 1)
	defer func() {
		if recover() == nil {
			t.Fatal("Set through a scalar did not panic")
		}
	}()
	c.Set("a.b", 2)
}

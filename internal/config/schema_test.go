package config

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

const schemaPath = "../../docs/config.schema.json"

// TestSchemaIsCurrent fails when docs/config.schema.json differs from what the config types
// and config.example.toml generate.
func TestSchemaIsCurrent(t *testing.T) {
	example, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	want, err := JSONSchema(example)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(schemaPath)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("docs/config.schema.json is stale (%v): regenerate it with\n\tgo generate ./internal/config", err)
	}
}

// TestSchemaDescribesEveryKey: every key the schema lists has a description, from its
// comment in config.example.toml. The stream-sea schema's own keys (name, version, fields of
// [pipelines.sink.schema]) are its wire form, documented in docs/protocol.md.
func TestSchemaDescribesEveryKey(t *testing.T) {
	var root map[string]any
	if err := json.Unmarshal(mustSchema(t), &root); err != nil {
		t.Fatal(err)
	}
	var missing []string
	check := func(where string, obj map[string]any) {
		props, _ := obj["properties"].(map[string]any)
		for key, p := range props {
			if d, _ := p.(map[string]any)["description"].(string); d == "" {
				missing = append(missing, where+"."+key)
			}
		}
	}
	check("(root)", root)
	for name, def := range root["definitions"].(map[string]any) {
		if name == "Schema" || name == "Field" {
			continue
		}
		check(name, def.(map[string]any))
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("%s has no description: document it in config.example.toml, then go generate ./internal/config", m)
	}
}

// TestConfigsValidateAgainstTheSchema: the configs this repository ships pass the schema.
func TestConfigsValidateAgainstTheSchema(t *testing.T) {
	sch := compileSchema(t)
	files := []string{examplePath, "../../deploy/bridge.toml", "../../cmd/bridge/dev.toml"}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(tomlInstance(t, b)); err != nil {
			t.Errorf("%s does not validate against docs/config.schema.json:\n%v", f, err)
		}
	}
	if err := sch.Validate(tomlInstance(t, []byte(everyTOMLType))); err != nil {
		t.Errorf("the config with every TOML type does not validate:\n%v", err)
	}
}

// TestSchemaRefusesMistakes: the schema catches in an editor what Load refuses.
func TestSchemaRefusesMistakes(t *testing.T) {
	sch := compileSchema(t)
	cases := map[string]string{
		"unknown key":         "[bridge]\nshutdown_timout = \"1s\"\n",
		"unknown section":     "[brige]\n",
		"enum":                "[bridge]\nlog_level = \"loud\"\n",
		"bare number":         "[bridge]\nshutdown_timeout = 10\n",
		"not a duration":      "[bridge]\nshutdown_timeout = \"soon\"\n",
		"wrong type":          "[[pipelines]]\nname = \"p\"\nenabled = \"yes\"\n",
		"unknown nested key":  "[[pipelines]]\nname = \"p\"\n[pipelines.sink]\ntopik = \"t\"\n",
		"connection key":      "[kafka.main]\nbrokerz = [\"a:1\"]\n",
		"schema field type":   "[[pipelines]]\nname = \"p\"\n[pipelines.sink.schema]\nname = \"s\"\nversion = 1\nfields = [{ name = \"a\", type = \"text\" }]\n",
		"source type":         "[[pipelines]]\nname = \"p\"\n[pipelines.source]\ntype = \"rabbitmq\"\n",
		"spool enum":          "[[pipelines]]\nname = \"p\"\n[pipelines.spool]\nfsync = \"sometimes\"\n",
		"mapping rename type": "[[pipelines]]\nname = \"p\"\n[pipelines.mapping]\nrename = { a = 1 }\n",
	}
	for name, text := range cases {
		if err := sch.Validate(tomlInstance(t, []byte(text))); err == nil {
			t.Errorf("%s: the schema accepts\n%s", name, text)
		}
	}
	// The golden bad configs with unknown keys are refused too.
	bad, _ := filepath.Glob("testdata/unknown_keys.bad.toml")
	for _, f := range bad {
		b, _ := os.ReadFile(f)
		if err := sch.Validate(tomlInstance(t, b)); err == nil {
			t.Errorf("%s: the schema accepts it", f)
		}
	}
}

func mustSchema(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(mustSchema(t)))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("config.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("config.schema.json")
	if err != nil {
		t.Fatalf("the schema does not compile: %v", err)
	}
	return sch
}

// tomlInstance is a TOML document as an editor hands it to a JSON Schema validator: dates and
// times become strings.
func tomlInstance(t *testing.T, text []byte) any {
	t.Helper()
	var m map[string]any
	if err := toml.Unmarshal(text, &m); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func TestExampleCommentParsing(t *testing.T) {
	cases := []struct{ line, text, value string }{
		{`{ source = "a#b" } # fields # set`, "fields # set", `{ source = "a#b" }`},
		{`'C:\dir # not' # yes`, "yes", `'C:\dir # not'`},
		{`"esc \" # still" # end`, "end", `"esc \" # still"`},
		{`1`, "", "1"},
	}
	for _, c := range cases {
		if text, value := splitComment(c.line); text != c.text || value != c.value {
			t.Errorf("splitComment(%q) = %q, %q; want %q, %q", c.line, text, value, c.text, c.value)
		}
	}
	if d := bracketDepth(`[ { a = "[" }, # ]`); d != 1 {
		t.Errorf("bracketDepth = %d, want 1", d)
	}
	docs := exampleDocs([]byte("[bridge]  # process\n# log_level: above\nlog_level = \"info\"  # after\n" +
		"                    # continued\n\n# not about a key\nlog_format = \"text\"\n"))
	if got := docs[docKey{reflect.TypeFor[Bridge](), "log_level"}]; got != "above after continued" {
		t.Errorf("log_level doc = %q", got)
	}
	if got := docs[docKey{reflect.TypeFor[Bridge](), "log_format"}]; got != "" {
		t.Errorf("log_format doc = %q, want none", got)
	}
	if got := docs[docKey{reflect.TypeFor[Config](), "bridge"}]; got != "process" {
		t.Errorf("bridge doc = %q", got)
	}
}

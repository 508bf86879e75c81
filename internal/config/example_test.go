package config

import (
	"os"
	"reflect"
	"regexp"
	"testing"

	"github.com/knadh/koanf/parsers/toml/v2"

	"github.com/seabridge/seabridge/internal/streamsea"
)

const examplePath = "../../config.example.toml"

func TestExampleLoads(t *testing.T) {
	c, err := Load(examplePath, nil)
	if err != nil {
		t.Fatalf("config.example.toml: %v", err)
	}
	if len(c.Pipelines) != 2 || c.Pipelines[0].Source.Type != EndpointStreamsea || c.Pipelines[1].Source.Type != EndpointKafka {
		t.Fatalf("want one pipeline each way, got %+v", c.Pipelines)
	}
	s := c.Streamsea[DefaultConnection]
	if s.URL != "http://127.0.0.1:3104" || s.ClientID != "bridge" || s.ClientSecret.Value() != "bridge-secret" {
		t.Errorf("example does not target the emulator: %+v", s)
	}
}

// TestExampleShowsDefaults checks that the values written in the example are the defaults,
// except the keys whose comment gives another default (credentials, names, routing).
func TestExampleShowsDefaults(t *testing.T) {
	c, err := Load(examplePath, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Streamsea[DefaultConnection]
	s.ClientID, s.ClientSecret = "", ""
	k := c.Kafka[DefaultConnection]
	want := Default()
	c.Bridge.InstanceID = ""
	type check struct {
		name      string
		got, want any
	}
	checks := []check{
		{"[bridge]", c.Bridge, want.Bridge},
		{"[http]", c.HTTP, want.HTTP},
		{"[streamsea.default]", s, DefaultStreamsea()},
		{"[kafka.default]", k, DefaultKafka()},
	}
	for _, p := range c.Pipelines {
		d := DefaultPipeline(p.Source.Type, p.Sink.Type)
		src, sink := p.Source, p.Sink
		src.Streams, src.Topics, src.GroupID = nil, nil, ""
		sink.Topic, sink.Stream, sink.Schema = "", "", nil
		checks = append(checks,
			check{p.Name + " batch", p.Batch, d.Batch},
			check{p.Name + " retry", p.Retry, d.Retry},
			check{p.Name + " source", src, d.Source},
			check{p.Name + " sink", sink, d.Sink},
			check{p.Name + " spool", p.Spool, d.Spool},
			check{p.Name + " jq limits", [2]any{p.Mapping.JQTimeout, p.Mapping.JQMaxBytes},
				[2]any{d.Mapping.JQTimeout, d.Mapping.JQMaxBytes}},
		)
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s in the example\n got %+v\nwant the defaults %+v", c.name, c.got, c.want)
		}
	}
}

// TestExampleDocumentsEveryKey walks the koanf tags of Config and checks that each key is
// written in config.example.toml, set or commented out, in the table it belongs to.
func TestExampleDocumentsEveryKey(t *testing.T) {
	text, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	// Uncomment "# key = value" lines so that documented-but-unset keys count.
	uncommented := regexp.MustCompile(`(?m)^#\s*([a-z_]+\s*=\s.*)$`).ReplaceAll(text, []byte("$1"))
	raw, err := toml.Parser().Unmarshal(uncommented)
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	walkKeys(reflect.TypeFor[Config](), []map[string]any{raw}, "", &missing)
	for _, key := range missing {
		t.Errorf("config.example.toml does not document %s", key)
	}
}

// walkKeys records in missing every tagged key of t found in none of the tables.
func walkKeys(t reflect.Type, tables []map[string]any, path string, missing *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		key := f.Tag.Get("koanf")
		if key == "-" { // filled by Load, not a key
			continue
		}
		var values []any
		for _, table := range tables {
			if v, ok := table[key]; ok {
				values = append(values, v)
			}
		}
		if len(values) == 0 {
			*missing = append(*missing, path+key)
			continue
		}
		if sub := subTables(f.Type, values); sub != nil {
			walkKeys(elemStruct(f.Type), sub, path+key+".", missing)
		}
	}
}

// subTables returns the tables to descend into for a struct, map-of-struct or slice-of-struct
// field, or nil for a leaf.
func subTables(t reflect.Type, values []any) []map[string]any {
	if t == reflect.TypeFor[*streamsea.Schema]() || elemStruct(t) == nil {
		return nil
	}
	var out []map[string]any
	for _, v := range values {
		switch v := v.(type) {
		case map[string]any:
			if t.Kind() == reflect.Map {
				for _, entry := range v {
					if m, ok := entry.(map[string]any); ok {
						out = append(out, m)
					}
				}
				continue
			}
			out = append(out, v)
		case []any:
			for _, e := range v {
				if m, ok := e.(map[string]any); ok {
					out = append(out, m)
				}
			}
		}
	}
	return out
}

func elemStruct(t reflect.Type) reflect.Type {
	if t.Kind() == reflect.Map || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() == reflect.Struct && t.PkgPath() == reflect.TypeFor[Config]().PkgPath() {
		return t
	}
	return nil
}

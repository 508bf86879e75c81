package config

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/seabridge/seabridge/internal/mapping"
	"github.com/seabridge/seabridge/internal/pipeline"
)

// everyTOMLType is a config that uses every TOML value type: in mapping.static (where any
// value is allowed) and, where the key's type allows it, elsewhere.
const everyTOMLType = `
[bridge]
shutdown_timeout = "5s"                # string

[streamsea.default]
client_id = "bridge"
client_secret = "bridge-secret"
max_frame_bytes = 1_048_576            # integer
gzip = false                           # bool

[kafka.default]
brokers = ["127.0.0.1:9092"]           # array

[[pipelines]]                          # array of tables
name = "every-type"
[pipelines.source]
type = "streamsea"
streams = ["boiler_data", "engine_data"]
group_id = "5b0e6a8e-3c1d-4e4b-9a51-6f0f1c2d7e3a"
[pipelines.mapping]
include = ["id", "/reading/value", "unit"]
rename = { unit = "units" }            # inline table
jq = '. + {seen: (.count + 1)}'
[pipelines.mapping.static]
text = "stream-sea"
count = 41
negative = -9_223_372_036_854_775_808
hex = 0xff
ratio = 0.25
exp = 6.02e23
on = true
off = false
at = 1979-05-27T07:32:00.999-08:00
at_utc = 1979-05-27T07:32:00Z
local_at = 1979-05-27T07:32:00
day = 1979-05-27
clock = 07:32:00
list = [1, "two", 3.5, true, 1979-05-27, [07:32:00], { k = "v" }]
inline = { a = 1, b = { c = 2026-01-02T03:04:05Z } }
[pipelines.mapping.static.nested]      # nested table
level = 1
[pipelines.mapping.static.nested.deeper]
when = 2026-01-02
[pipelines.sink]
type = "kafka"
topic = "boiler.raw"
[pipelines.batch]
size = 100
[pipelines.dead_letter]
policy = "drop"

[[pipelines]]
name = "with-schema"
enabled = false
[pipelines.source]
type = "kafka"
topics = ["alarms"]
group_id = "g"
[pipelines.sink]
type = "streamsea"
stream = "alarms"
[pipelines.sink.schema]                # nested table holding an array of inline tables
name = "alarms"
version = 1
fields = [{ name = "raisedAt", type = "date" }, { name = "readings", type = "array<object>", fields = [{ name = "v", type = "float" }] }]
[pipelines.dead_letter]
policy = "stop"
`

const everyTOMLTypeOutput = `{"at":"1979-05-27T07:32:00.999-08:00","at_utc":"1979-05-27T07:32:00Z","clock":"07:32:00",` +
	`"count":41,"day":"1979-05-27","exp":6.02e+23,"hex":255,"id":7,` +
	`"inline":{"a":1,"b":{"c":"2026-01-02T03:04:05Z"}},` +
	`"list":[1,"two",3.5,true,"1979-05-27",["07:32:00"],{"k":"v"}],"local_at":"1979-05-27T07:32:00",` +
	`"negative":-9223372036854775808,"nested":{"deeper":{"when":"2026-01-02"},"level":1},"off":false,"on":true,` +
	`"ratio":0.25,"reading":{"value":1.5},"seen":42,"text":"stream-sea","units":"bar"}`

// TestEveryTOMLTypeThroughTheMapping loads a file with every TOML type through Load and
// runs messages through the mapping compiled from it, jq included.
func TestEveryTOMLTypeThroughTheMapping(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bridge.toml")
	if err := os.WriteFile(path, []byte(everyTOMLType), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if s := cfg.Pipelines[1].Sink.Schema; s == nil || len(s.Fields) != 2 || len(s.Fields[1].Fields) != 1 {
		t.Fatalf("schema = %+v", s)
	}
	if cfg.Streamsea[DefaultConnection].MaxFrameBytes != 1<<20 || cfg.Pipelines[0].Batch.Size != 100 {
		t.Fatalf("integers: %+v %+v", cfg.Streamsea[DefaultConnection], cfg.Pipelines[0].Batch)
	}
	m, err := mapping.New(cfg.Pipelines[0].Mapping.Options())
	if err != nil {
		t.Fatalf("mapping.New: %v", err)
	}
	for i := range 3 {
		in := &pipeline.Message{Value: []byte(`{"id":7,"reading":{"value":1.5,"raw":"x"},"unit":"bar","dropped":true}`)}
		outs, err := m.Map(context.Background(), in)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if len(outs) != 1 || string(outs[0].Value) != everyTOMLTypeOutput {
			t.Fatalf("message %d:\n got %s\nwant %s", i, outs[0].Value, everyTOMLTypeOutput)
		}
	}
}

// TestTOMLTypesInTypedKeys puts every TOML type where a key wants another: each is reported
// at its key, naming both types, and nothing panics.
func TestTOMLTypesInTypedKeys(t *testing.T) {
	values := map[string]string{
		"1979-05-27T07:32:00Z": "a datetime", "1979-05-27T07:32:00": "a local datetime",
		"1979-05-27": "a local date", "07:32:00": "a local time", "1.5": "a number", "7": "a number",
		"true": "a boolean", "[1]": "an array", "{ a = 1 }": "a table",
	}
	keys := []struct{ key, want string }{
		{"instance_id", "a string"},
		{"shutdown_timeout", "a duration"},
	}
	for value, kind := range values {
		for _, k := range keys {
			if k.want == "a duration" && (value == "1.5" || value == "7") {
				continue // numbers are refused with their own message, below
			}
			_, err := LoadBytes([]byte(base+"[bridge]\n"+k.key+" = "+value+"\n"), nil)
			want := "bridge." + k.key + ": must be " + k.want + ", not " + kind
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s = %s: err = %v\nwant %q", k.key, value, err, want)
			}
		}
	}
	_, err := LoadBytes([]byte(base+"[bridge]\nshutdown_timeout = 1.5\n"), nil)
	if err == nil || !strings.Contains(err.Error(), `bridge.shutdown_timeout: must be a duration such as "10s", not the bare number 1.5`) {
		t.Errorf("bare number as duration: %v", err)
	}
	for _, v := range []string{"1", "1.5", "1979-05-27"} {
		_, err := LoadBytes([]byte(strings.Replace(base, `name = "up"`, "name = \"up\"\nenabled = "+v, 1)), nil)
		if err == nil || !strings.Contains(err.Error(), `pipelines["up"].enabled: must be a boolean`) {
			t.Errorf("enabled = %s: %v", v, err)
		}
	}
}

// TestPrintKeepsEveryTOMLType: validate --print shows static values of every TOML type as
// they were written, so that the printed config loads back to the same mapping.
func TestPrintKeepsEveryTOMLType(t *testing.T) {
	cfg, err := LoadBytes([]byte(everyTOMLType), nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadBytes([]byte(cfg.String()), nil)
	if err != nil {
		t.Fatalf("the printed config does not load: %v\n%s", err, cfg)
	}
	want, got := cfg.Pipelines[0].Mapping.Static, again.Pipelines[0].Mapping.Static
	if !reflect.DeepEqual(got, want) {
		t.Errorf("static after printing\n got %#v\nwant %#v", got, want)
	}
}

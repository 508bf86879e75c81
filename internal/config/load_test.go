package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// base is a minimal valid configuration: one enabled stream-sea -> Kafka pipeline.
const base = `
[streamsea.default]
client_id = "bridge"
client_secret = "bridge-secret"

[[pipelines]]
name = "up"
[pipelines.source]
type = "streamsea"
streams = ["s"]
[pipelines.sink]
type = "kafka"
topic = "t"
[pipelines.dead_letter]
policy = "drop"
`

// down is a Kafka -> stream-sea pipeline to append to base.
const down = `
[[pipelines]]
name = "down"
[pipelines.source]
type = "kafka"
topics = ["in"]
group_id = "g"
[pipelines.sink]
type = "streamsea"
stream = "out"
[pipelines.dead_letter]
policy = "stop"
`

func errorLines(t *testing.T, err error) []string {
	t.Helper()
	var list *Errors
	if !errors.As(err, &list) {
		t.Fatalf("error %v (%T) is not an *Errors", err, err)
	}
	lines := make([]string, len(list.Fields))
	for i, f := range list.Fields {
		lines[i] = f.Error()
	}
	return lines
}

func TestLoadBytesGood(t *testing.T) {
	tests := []struct {
		name  string
		toml  string
		env   []string
		check func(t *testing.T, c *Config)
	}{
		{"defaults fill a minimal pipeline", base, nil, func(t *testing.T, c *Config) {
			p := c.Pipelines[0]
			want := DefaultPipeline(EndpointStreamsea, EndpointKafka)
			want.Name, want.Source.Streams, want.Sink.Topic, want.DeadLetter.Policy = "up", []string{"s"}, "t", PolicyDrop
			if !reflect.DeepEqual(p, want) {
				t.Errorf("pipeline\n got %#v\nwant %#v", p, want)
			}
			if c.Bridge.InstanceID == "" {
				t.Error("instance_id was not filled with the hostname")
			}
			if c.Kafka[DefaultConnection].Brokers[0] != "127.0.0.1:9092" {
				t.Errorf("default kafka connection: %+v", c.Kafka)
			}
		}},
		{"kafka source defaults", base + down, nil, func(t *testing.T, c *Config) {
			s := c.Pipelines[1].Source
			if s.CommitInterval != time.Second || s.StartOffset != "earliest" || s.MaxBytes != 10<<20 || s.MaxInFlightBytes != 64<<20 {
				t.Errorf("kafka source defaults not applied: %+v", s)
			}
			if c.Pipelines[1].Sink.OnSchemaConflict != "fail" || !c.Pipelines[1].Sink.Validate {
				t.Errorf("streamsea sink defaults not applied: %+v", c.Pipelines[1].Sink)
			}
		}},
		{"max_in_flight_bytes of a kafka source", base + strings.Replace(down, `group_id = "g"`, `group_id = "g"
max_in_flight = 30000
max_in_flight_bytes = 1048576`, 1), nil, func(t *testing.T, c *Config) {
			if s := c.Pipelines[1].Source; s.MaxInFlight != 30000 || s.MaxInFlightBytes != 1<<20 {
				t.Errorf("kafka source max_in_flight %d, max_in_flight_bytes %d; want 30000, 1048576", s.MaxInFlight, s.MaxInFlightBytes)
			}
		}},
		{"named connection starts from defaults; lists replace defaults", base + `
[kafka.main]
brokers = ["k1:9092", "k2:9092"]
`, nil, func(t *testing.T, c *Config) {
			k := c.Kafka["main"]
			if !reflect.DeepEqual(k.Brokers, []string{"k1:9092", "k2:9092"}) || k.DialTimeout != 10*time.Second || k.ClientID != "seabridge" {
				t.Errorf("kafka.main = %+v", k)
			}
		}},
		{"durations and https imply TLS", base + `
[bridge]
shutdown_timeout = "1m30s"
[streamsea.secure]
url = "https://sea.example.com/prefix/"
`, nil, func(t *testing.T, c *Config) {
			if c.Bridge.ShutdownTimeout != 90*time.Second {
				t.Errorf("shutdown_timeout = %s", c.Bridge.ShutdownTimeout)
			}
			s := c.Streamsea["secure"]
			if !s.TLS.Enabled {
				t.Error("https url did not enable TLS")
			}
			if got := s.WebsocketURL(); got != "wss://sea.example.com/prefix/api/v1/streams" {
				t.Errorf("WebsocketURL = %q", got)
			}
		}},
		{"connection names may hold dots", strings.Replace(base, `type = "kafka"`, `type = "kafka"
connection = "eu.main"`, 1) + `
[kafka."eu.main"]
brokers = ["eu:9092"]
`, nil, func(t *testing.T, c *Config) {
			if c.Kafka["eu.main"].Brokers[0] != "eu:9092" {
				t.Errorf("kafka = %+v", c.Kafka)
			}
		}},
		{"disabled pipeline does not need credentials", base + `
[[pipelines]]
name = "off"
enabled = false
[pipelines.source]
type = "streamsea"
connection = "other"
streams = ["x"]
[pipelines.sink]
type = "kafka"
topic = "x"
[pipelines.dead_letter]
policy = "drop"
[streamsea.other]
url = "http://other:3104"
`, nil, func(t *testing.T, c *Config) {
			if c.Pipelines[1].Enabled {
				t.Error("enabled = false was not decoded")
			}
		}},
		{"inline schema and mapping", base + down + `
[pipelines.mapping]
rename = { "a.b" = "c" }
fields_to_headers = { "/site~1id" = "site" }
[pipelines.sink.schema]
name = "out"
version = 2
fields = [{ name = "kind", type = "enum", enum = ["a", "b"] }]
`, nil, func(t *testing.T, c *Config) {
			p := c.Pipelines[1]
			if p.Sink.Schema == nil || p.Sink.Schema.Version != 2 || p.Sink.Schema.Fields[0].Enum[1] != "b" {
				t.Errorf("schema = %+v", p.Sink.Schema)
			}
			if p.Mapping.Rename["a.b"] != "c" || p.Mapping.FieldsToHeaders["/site~1id"] != "site" {
				t.Errorf("mapping = %+v", p.Mapping)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadBytes([]byte(tt.toml), tt.env)
			if err != nil {
				t.Fatalf("LoadBytes: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestLoadBytesBad(t *testing.T) {
	tests := []struct {
		name string
		toml string
		want []string
	}{
		{"unknown keys at every level", `colour = "blue"` + base + `
[bridge]
log_levle = "info"
[kafka.default.sasl]
mechansim = "plain"
`, []string{
			`bridge.log_levle: unknown key`,
			`colour: unknown key`,
			`kafka["default"].sasl.mechansim: unknown key`,
		}},
		{"zero linger", base + "[pipelines.batch]\nlinger = \"0s\"\n", []string{
			`pipelines["up"].batch.linger: must be a positive duration, not 0s`,
		}},
		{"unknown key inside a pipeline", strings.Replace(base, `topic = "t"`, `topik = "t"`, 1), []string{
			`pipelines["up"].sink.topik: unknown key`,
			`pipelines["up"].sink.topic: required unless mapping.topic is set`,
		}},
		{"wrong types", strings.Replace(base, `client_id = "bridge"`, `client_id = "bridge"
max_frame_bytes = "big"`, 1) + `
[http]
listen = 9464
[bridge]
shutdown_timeout = "soon"
`, []string{
			`bridge.shutdown_timeout: not a duration such as "250ms" or "1m30s" (time: invalid duration)`,
			`http.listen: must be a string, not a number`,
			`streamsea["default"].max_frame_bytes: "big" is not an integer`,
		}},
		{"group_id must be a UUID", strings.Replace(base, `streams = ["s"]`, `streams = ["s"]
group_id = "abc"`, 1), []string{
			`pipelines["up"].source.group_id: "abc" is not an RFC 4122 UUID`,
		}},
		{"max_in_flight_bytes below 1", base + strings.Replace(down, `group_id = "g"`, `group_id = "g"
max_in_flight_bytes = 0`, 1), []string{
			`pipelines["down"].source.max_in_flight_bytes: must be at least 1, not 0`,
		}},
		{"brokers must not be empty", base + `
[kafka.main]
brokers = []
`, []string{`kafka["main"].brokers: must not be empty`}},
		{"keys of the other type", strings.Replace(base, `streams = ["s"]`, `streams = ["s"]
topics = ["x"]
start_offset = "latest"`, 1), []string{
			`pipelines["up"].source.topics: not a key of a streamsea source (only of a kafka source)`,
			`pipelines["up"].source.start_offset: not a key of a streamsea source (only of a kafka source)`,
		}},
		{"references and enums", base + strings.Replace(down, `stream = "out"`, `stream = "out"
connection = "nowhere"
on_schema_conflict = "ignore"`, 1), []string{
			`pipelines["down"].sink.connection: no [streamsea.nowhere] connection is configured`,
			`pipelines["down"].sink.on_schema_conflict: "ignore" is not one of "fail", "use_server"`,
		}},
		{"no enabled pipeline", `
[[pipelines]]
name = "off"
enabled = false
[pipelines.source]
type = "kafka"
topics = ["a"]
group_id = "g"
[pipelines.sink]
type = "streamsea"
stream = "b"
[pipelines.dead_letter]
policy = "stop"
`, []string{`pipelines: at least one enabled pipeline is required`}},
		{"duplicate names and same types", base + `
[[pipelines]]
name = "up"
[pipelines.source]
type = "streamsea"
streams = ["x"]
[pipelines.sink]
type = "streamsea"
topic = "t"
stream = "y"
[pipelines.dead_letter]
policy = "drop"
`, []string{
			`pipelines["up"].name: another pipeline has this name`,
			`pipelines["up"].sink.topic: not a key of a streamsea sink (only of a kafka sink)`,
			`pipelines["up"].sink.type: must differ from source.type: a pipeline bridges stream-sea and Kafka`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadBytes([]byte(tt.toml), nil)
			if err == nil {
				t.Fatal("LoadBytes accepted a bad configuration")
			}
			if got := errorLines(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

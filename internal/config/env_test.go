package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestEnvironmentOverrides(t *testing.T) {
	tests := []struct {
		name  string
		env   []string
		check func(t *testing.T, c *Config)
	}{
		{"top-level key", []string{"BRIDGE_HTTP__LISTEN=:9100"}, func(t *testing.T, c *Config) {
			if c.HTTP.Listen != ":9100" {
				t.Errorf("http.listen = %q", c.HTTP.Listen)
			}
		}},
		{"empty value disables http", []string{"BRIDGE_HTTP__LISTEN="}, func(t *testing.T, c *Config) {
			if c.HTTP.Listen != "" {
				t.Errorf("http.listen = %q", c.HTTP.Listen)
			}
		}},
		{"list and new named connection", []string{"BRIDGE_KAFKA__MAIN__BROKERS=a:9092,b:9092"}, func(t *testing.T, c *Config) {
			k := c.Kafka["main"]
			if !reflect.DeepEqual(k.Brokers, []string{"a:9092", "b:9092"}) || k.DialTimeout != DefaultKafka().DialTimeout {
				t.Errorf("kafka.main = %+v", k)
			}
		}},
		{"secret over the file's", []string{"BRIDGE_STREAMSEA__DEFAULT__CLIENT_SECRET=from-env"}, func(t *testing.T, c *Config) {
			if got := c.Streamsea["default"].ClientSecret.Value(); got != "from-env" {
				t.Errorf("client_secret = %q", got)
			}
		}},
		{"durations, numbers and booleans from strings", []string{
			"BRIDGE_BRIDGE__SHUTDOWN_TIMEOUT=5s",
			"BRIDGE_STREAMSEA__DEFAULT__MAX_FRAME_BYTES=1024",
			"BRIDGE_STREAMSEA__DEFAULT__GZIP=false",
		}, func(t *testing.T, c *Config) {
			s := c.Streamsea["default"]
			if c.Bridge.ShutdownTimeout != 5*time.Second || s.MaxFrameBytes != 1024 || s.Gzip {
				t.Errorf("bridge = %+v, streamsea = %+v", c.Bridge, s)
			}
		}},
		{"pipeline by name", []string{
			"BRIDGE_PIPELINES__up__SINK__TOPIC=x",
			"BRIDGE_PIPELINES__up__SOURCE__STREAMS=a,b",
			"BRIDGE_PIPELINES__up__MAPPING__KEY=/id",
		}, func(t *testing.T, c *Config) {
			p := c.Pipelines[0]
			if p.Sink.Topic != "x" || !reflect.DeepEqual(p.Source.Streams, []string{"a", "b"}) || p.Mapping.Key != "/id" {
				t.Errorf("pipeline = %+v", p)
			}
			if c.Pipelines[1].Sink.Topic != "" {
				t.Errorf("the override reached another pipeline: %+v", c.Pipelines[1].Sink)
			}
		}},
		{"other variables are ignored", []string{"PATH=/bin", "BRIDGEX=1", "HOME=/root"}, func(t *testing.T, c *Config) {
			if c.HTTP.Listen != Default().HTTP.Listen {
				t.Errorf("http.listen = %q", c.HTTP.Listen)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadBytes([]byte(base+down), tt.env)
			if err != nil {
				t.Fatalf("LoadBytes: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestEnvironmentOverrideErrors(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want []string
	}{
		{"unknown pipeline", []string{"BRIDGE_PIPELINES__nope__SINK__TOPIC=x"}, []string{
			`pipelines["nope"]: no pipeline has this name, or one that matches it with '-' and '.' as '_' in any case (set by BRIDGE_PIPELINES__nope__SINK__TOPIC)`,
		}},
		{"no key", []string{"BRIDGE_PIPELINES__up=x"}, []string{
			`BRIDGE_PIPELINES__up: must name a pipeline and a key: BRIDGE_PIPELINES__<name>__<key>`,
		}},
		{"unknown key in a pipeline", []string{"BRIDGE_PIPELINES__up__SINK__TOPIK=x"}, []string{
			`pipelines["up"].sink.topik: unknown key (set by BRIDGE_PIPELINES__up__SINK__TOPIK)`,
		}},
		{"single underscore is not a level", []string{"BRIDGE_HTTP_LISTEN=:1"}, []string{
			`http_listen: unknown key (set by BRIDGE_HTTP_LISTEN)`,
		}},
		{"bad value", []string{"BRIDGE_KAFKA__DEFAULT__DIAL_TIMEOUT=-1s"}, []string{
			`kafka["default"].dial_timeout: must be a positive duration, not -1s (set by BRIDGE_KAFKA__DEFAULT__DIAL_TIMEOUT)`,
		}},
		{"into a scalar", []string{"BRIDGE_PIPELINES__up__NAME__X=1"}, []string{
			`pipelines["up"]: BRIDGE_PIPELINES__up__NAME__X: name is not a table`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadBytes([]byte(base+down), tt.env)
			if err == nil {
				t.Fatal("LoadBytes accepted a bad override")
			}
			if got := errorLines(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// dashed has pipelines and connections whose names a shell cannot put in a variable name.
const dashed = `
[streamsea.default]
client_id = "bridge"
client_secret = "bridge-secret"
[kafka.eu-west]
brokers = ["a:9092"]
[[pipelines]]
name = "boiler-to-kafka"
[pipelines.source]
type = "streamsea"
streams = ["s"]
[pipelines.sink]
type = "kafka"
connection = "eu-west"
topic = "t"
[pipelines.dead_letter]
policy = "drop"
[[pipelines]]
name = "alarms.down"
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

func TestShellSafeNames(t *testing.T) {
	c, err := LoadBytes([]byte(dashed), []string{
		"BRIDGE_PIPELINES__BOILER_TO_KAFKA__SINK__TOPIC=boiler.raw",
		"BRIDGE_PIPELINES__alarms_down__SINK__STREAM=alarms",
		"BRIDGE_KAFKA__EU_WEST__BROKERS=b:9092,c:9092",
		"BRIDGE_KAFKA__Eu_West__CLIENT_ID=west",
	})
	if err != nil {
		t.Fatalf("LoadBytes: %v", err)
	}
	if got := c.Pipelines[0].Sink.Topic; got != "boiler.raw" {
		t.Errorf("boiler-to-kafka sink.topic = %q", got)
	}
	if got := c.Pipelines[1].Sink.Stream; got != "alarms" {
		t.Errorf("alarms.down sink.stream = %q", got)
	}
	k, ok := c.Kafka["eu-west"]
	if !ok || !reflect.DeepEqual(k.Brokers, []string{"b:9092", "c:9092"}) || k.ClientID != "west" {
		t.Errorf("kafka[eu-west] = %+v", k)
	}
	if _, made := c.Kafka["eu_west"]; made {
		t.Error("the variable made a new connection eu_west instead of setting eu-west")
	}
}

func TestShellSafeNameErrors(t *testing.T) {
	twins := dashed + strings.ReplaceAll(strings.ReplaceAll(dashed[strings.Index(dashed, "[[pipelines]]"):], "boiler-to-kafka", "boiler.to.kafka"), "alarms.down", "alarms-down")
	twins = strings.Replace(twins, "[kafka.eu-west]", "[kafka.eu-west]\n[kafka.EU_west]\nbrokers = [\"a:1\"]\n[kafka.x]", 1)
	tests := []struct {
		name string
		env  []string
		want []string
	}{
		{"ambiguous pipeline", []string{"BRIDGE_PIPELINES__BOILER_TO_KAFKA__SINK__TOPIC=x"}, []string{
			`pipelines: BRIDGE_PIPELINES__BOILER_TO_KAFKA__SINK__TOPIC matches more than one pipeline: "boiler-to-kafka", "boiler.to.kafka" (names match with '-' and '.' as '_', in any case); rename one, or set the variable with the exact name`,
		}},
		{"ambiguous connection", []string{"BRIDGE_KAFKA__EU_WEST__CLIENT_ID=x"}, []string{
			`kafka: BRIDGE_KAFKA__EU_WEST__CLIENT_ID matches more than one connection: "EU_west", "eu-west" (names match with '-' and '.' as '_', in any case); rename one, or set the variable with the exact name`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadBytes([]byte(twins), tt.env)
			if err == nil {
				t.Fatal("LoadBytes accepted an ambiguous variable")
			}
			if got := errorLines(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors\n got %q\nwant %q", got, tt.want)
			}
		})
	}
	// The exact name is never ambiguous.
	c, err := LoadBytes([]byte(twins), []string{"BRIDGE_PIPELINES__boiler-to-kafka__SINK__TOPIC=exact"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Pipelines[0].Sink.Topic != "exact" || c.Pipelines[2].Sink.Topic != "t" {
		t.Errorf("exact name: %q, %q", c.Pipelines[0].Sink.Topic, c.Pipelines[2].Sink.Topic)
	}
}

// TestErrorsNameTheVariable: a problem with a key set by a variable names the variable.
func TestErrorsNameTheVariable(t *testing.T) {
	_, err := LoadBytes([]byte(dashed), []string{
		"BRIDGE_HTTP__LISTN=:1",
		"BRIDGE_KAFKA__EU_WEST__BROKERS=nocolon",
		"BRIDGE_PIPELINES__BOILER_TO_KAFKA__BATCH__SIZE=0",
		"BRIDGE_NOPE__X=1",
	})
	want := []string{
		`http.listn: unknown key (set by BRIDGE_HTTP__LISTN)`,
		`nope: unknown key (set by BRIDGE_NOPE__X)`,
		`kafka["eu-west"].brokers[0]: "nocolon": not host:port (set by BRIDGE_KAFKA__EU_WEST__BROKERS)`,
		`pipelines["boiler-to-kafka"].batch.size: must be at least 1, not 0 (set by BRIDGE_PIPELINES__BOILER_TO_KAFKA__BATCH__SIZE)`,
	}
	if got := errorLines(t, err); !reflect.DeepEqual(got, want) {
		t.Errorf("errors\n got %q\nwant %q", got, want)
	}
}

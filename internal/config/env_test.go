package config

import (
	"reflect"
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
			`pipelines["nope"]: no pipeline has this name (set by BRIDGE_PIPELINES__nope__SINK__TOPIC)`,
		}},
		{"pipeline names match exactly", []string{"BRIDGE_PIPELINES__UP__SINK__TOPIC=x"}, []string{
			`pipelines["UP"]: no pipeline has this name (set by BRIDGE_PIPELINES__UP__SINK__TOPIC)`,
		}},
		{"no key", []string{"BRIDGE_PIPELINES__up=x"}, []string{
			`BRIDGE_PIPELINES__up: must name a pipeline and a key: BRIDGE_PIPELINES__<name>__<key>`,
		}},
		{"unknown key in a pipeline", []string{"BRIDGE_PIPELINES__up__SINK__TOPIK=x"}, []string{
			`pipelines["up"].sink.topik: unknown key`,
		}},
		{"single underscore is not a level", []string{"BRIDGE_HTTP_LISTEN=:1"}, []string{
			`http_listen: unknown key`,
		}},
		{"bad value", []string{"BRIDGE_KAFKA__DEFAULT__DIAL_TIMEOUT=-1s"}, []string{
			`kafka["default"].dial_timeout: must be a positive duration, not -1s`,
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

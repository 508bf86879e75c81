package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/streamsea"
)

// built is a valid configuration assembled in code, as a test or a tool would.
func built() *Config {
	c := Default()
	s := c.Streamsea[DefaultConnection]
	s.ClientID, s.ClientSecret = "bridge", "bridge-secret"
	c.Streamsea[DefaultConnection] = s
	p := DefaultPipeline(EndpointKafka, EndpointStreamsea)
	p.Name = "down"
	p.Source.Topics, p.Source.GroupID = []string{"in"}, "g"
	p.Sink.Stream = "out"
	p.DeadLetter.Policy = PolicyStop
	c.Pipelines = []Pipeline{p}
	return c
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string
	}{
		{"valid", func(c *Config) {}, nil},
		{"default alone has no pipeline", func(c *Config) { c.Pipelines = nil }, []string{
			"pipelines: at least one enabled pipeline is required",
		}},
		{"jwt suffices for a source, not for a sink", func(c *Config) {
			s := c.Streamsea[DefaultConnection]
			s.ClientSecret, s.JWT = "", "a.b.c"
			c.Streamsea[DefaultConnection] = s
		}, []string{
			`streamsea["default"].client_secret: required (or client_secret_file): a sink publishes over REST, which needs it`,
		}},
		{"schema name must match the stream", func(c *Config) {
			c.Pipelines[0].Sink.Schema = &streamsea.Schema{Name: "other", Version: 1, Fields: []streamsea.Field{{Name: "a", Type: streamsea.TypeString}}}
		}, []string{`pipelines["down"].sink.schema.name: "other" must equal sink.stream "out"`}},
		{"schema needs a fixed stream", func(c *Config) {
			c.Pipelines[0].Mapping.Stream = "out_{/site}"
			c.Pipelines[0].Sink.Schema = &streamsea.Schema{Name: "out", Version: 1, Fields: []streamsea.Field{{Name: "a", Type: streamsea.TypeString}}}
		}, []string{`pipelines["down"].sink.schema: needs one fixed stream: remove mapping.stream or the schema`}},
		{"mapping.stream alone routes", func(c *Config) {
			c.Pipelines[0].Sink.Stream = ""
			c.Pipelines[0].Mapping.Stream = "out_{/site}_{/kind~1x}"
		}, nil},
		{"valid uuid group", func(c *Config) {
			p := DefaultPipeline(EndpointStreamsea, EndpointKafka)
			p.Name, p.Source.Streams, p.Source.GroupID = "up", []string{"s"}, "5B0E6A8E-3C1D-4E4B-9A51-6F0F1C2D7E3A"
			p.Mapping.Topic, p.DeadLetter.Topic = "boiler.{/site}", "dlq"
			c.Pipelines = append(c.Pipelines, p)
		}, nil},
		{"uuid forms other than 8-4-4-4-12", func(c *Config) {
			for _, id := range []string{"5b0e6a8e3c1d4e4b9a516f0f1c2d7e3a", "urn:uuid:5b0e6a8e-3c1d-4e4b-9a51-6f0f1c2d7e3a"} {
				p := DefaultPipeline(EndpointStreamsea, EndpointKafka)
				p.Name, p.Source.Streams, p.Source.GroupID = "up"+id[:1], []string{"s"}, id
				p.Sink.Topic, p.DeadLetter.Policy = "t", PolicyDrop
				c.Pipelines = append(c.Pipelines, p)
			}
		}, []string{
			`pipelines["up5"].source.group_id: "5b0e6a8e3c1d4e4b9a516f0f1c2d7e3a" is not an RFC 4122 UUID`,
			`pipelines["upu"].source.group_id: "urn:uuid:5b0e6a8e-3c1d-4e4b-9a51-6f0f1c2d7e3a" is not an RFC 4122 UUID`,
		}},
		{"short group timings", func(c *Config) {
			s := &c.Pipelines[0].Source
			s.HeartbeatInterval, s.SessionTimeout = 300*time.Millisecond, 3*time.Second
			s.RebalanceTimeout, s.JoinGroupBackoff = 3*time.Second, 100*time.Millisecond
		}, nil},
		{"group timings left zero by a hand-built source", func(c *Config) {
			s := &c.Pipelines[0].Source
			s.HeartbeatInterval, s.SessionTimeout, s.RebalanceTimeout, s.JoinGroupBackoff = 0, 0, 0, 0
		}, []string{
			`pipelines["down"].source.heartbeat_interval: must be a positive duration, not 0s`,
			`pipelines["down"].source.session_timeout: must be a positive duration, not 0s`,
			`pipelines["down"].source.rebalance_timeout: must be a positive duration, not 0s`,
			`pipelines["down"].source.join_group_backoff: must be a positive duration, not 0s`,
		}},
		{"heartbeat just below the session timeout", func(c *Config) {
			s := &c.Pipelines[0].Source
			s.HeartbeatInterval, s.SessionTimeout = 6*time.Second-time.Millisecond, 6*time.Second
		}, nil},
		{"topic template characters", func(c *Config) {
			p := DefaultPipeline(EndpointStreamsea, EndpointKafka)
			p.Name, p.Source.Streams, p.Mapping.Topic, p.DeadLetter.Policy = "up", []string{"s"}, "boiler/{/site}", PolicyDrop
			c.Pipelines = append(c.Pipelines, p)
		}, []string{`pipelines["up"].mapping.topic: "boiler/{/site}": "boiler/" holds characters not allowed in a topic name`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := built()
			tt.mutate(c)
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if got := errorLines(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestLoadErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content string
		list          bool
	}{
		{"syntax", "[bridge\n", false},
		{"invalid", "[bridge]\nlog_level = 1\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, dir, tt.name+".toml", tt.content)
			_, err := Load(path, nil)
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v does not name %s", err, path)
			}
			var list *Errors
			if errors.As(err, &list) != tt.list {
				t.Errorf("errors.As(*Errors) = %v, want %v for %v", !tt.list, tt.list, err)
			}
		})
	}
	if _, err := Load(dir+"/absent.toml", nil); err == nil || !strings.Contains(err.Error(), "absent.toml") {
		t.Errorf("missing file: %v", err)
	}
}

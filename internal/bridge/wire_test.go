package bridge

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/seabridge/seabridge/internal/config"
)

// TestNewWithKafkaSourcesOnTwoConnections builds (and dials nothing) a bridge whose Kafka
// sources use two Kafka connections: each pipeline has its lag collector, exported side by side.
func TestNewWithKafkaSourcesOnTwoConnections(t *testing.T) {
	toml := `
[http]
listen = ""
[streamsea.default]
client_id = "bridge"
client_secret = "s"
[kafka.other]
brokers = ["127.0.0.1:1"]
`
	for _, p := range []struct{ name, conn string }{{"a", "default"}, {"b", "other"}} {
		toml += `
[[pipelines]]
name = "` + p.name + `"
[pipelines.source]
type = "kafka"
connection = "` + p.conn + `"
topics = ["t"]
group_id = "g-` + p.name + `"
[pipelines.sink]
type = "streamsea"
stream = "s"
[pipelines.dead_letter]
policy = "drop"
`
	}
	cfg, err := config.LoadBytes([]byte(toml), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, "test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range a.pipes {
		if u.bp.lag == nil {
			t.Fatalf("pipeline %s has no lag collector", u.name)
		}
	}
	if n := len(a.lags.snapshot()); n != 2 {
		t.Fatalf("%d lag collectors exported, want both pipelines'", n)
	}
	families, err := a.Registry().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	found := false
	for _, f := range families {
		found = found || strings.HasPrefix(f.GetName(), "seabridge_pipeline_")
	}
	if !found {
		t.Fatal("no pipeline metric family gathered")
	}
}

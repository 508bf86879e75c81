package bridge_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/seabridge/seabridge/internal/bridge"
	"github.com/seabridge/seabridge/internal/config"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// TestConnectChecksOfAJWTOnlySource: a stream-sea connection used only by a source may sign
// in with a JWT and have no client_secret; validate --connect must not report the REST API's
// refusal of an empty secret as a failure.
func TestConnectChecksOfAJWTOnlySource(t *testing.T) {
	brokers := kafkatest.Brokers(t, kfake.SeedTopics(1, "out"))
	cfg, err := config.LoadBytes([]byte(`
[streamsea.default]
url = "http://127.0.0.1:1"
client_id = "bridge"
jwt = "header.claims.signature"
[kafka.default]
brokers = ["`+brokers[0]+`"]
[[pipelines]]
name = "jwt-only"
[pipelines.source]
type = "streamsea"
streams = ["s"]
group_id = "6f1c2d7e-3a5b-4c1d-9e8f-7a6b5c4d3e2f"
[pipelines.sink]
type = "kafka"
topic = "out"
[pipelines.dead_letter]
policy = "drop"
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	checks := bridge.ConnectChecks(cfg, "test")
	if len(checks) != 2 {
		t.Fatalf("got %d checks, want kafka and streamsea", len(checks))
	}
	for _, c := range checks {
		detail, err := c.Run(ctx)
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
		if strings.HasPrefix(c.Name, "streamsea") && !strings.Contains(detail, "not checked: no client_secret") {
			t.Errorf("%s: detail %q does not say why the REST API was not checked", c.Name, detail)
		}
	}
}

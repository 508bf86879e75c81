package benchmark

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/seabridge/seabridge/internal/config"
)

// bridgeCommon is the part of every bridge scenario's config that does not depend on the
// direction: no HTTP server, one connection each way, a short shutdown budget.
const bridgeCommon = `
[bridge]
instance_id = "bench"
shutdown_timeout = "5s"

[http]
listen = ""

[streamsea.default]
url = %s
client_id = %s
client_secret = %s

[kafka.default]
brokers = [%s]
`

// toStreamseaSchema is the schema the Kafka -> stream-sea pipeline defines and validates
// against: the benchmark payload's three fields.
const toStreamseaSchema = `
[pipelines.sink.schema]
name = %s
version = 1
fields = [
  { name = "ts", type = "integer" },
  { name = "seq", type = "integer" },
  { name = "pad", type = "string" },
]
`

// bridgeConfig is the config of one bridge scenario.
type bridgeConfig struct {
	emulatorURL string
	brokers     []string
	stream      string
	topic       string
	group       string // Kafka consumer group (Kafka -> stream-sea only)
	toKafka     bool   // direction
}

// load renders the config as TOML and loads it like the bridge does, with the BRIDGE_*
// overrides of environ applied last.
func (c bridgeConfig) load(o Options) (*config.Config, error) {
	var b strings.Builder
	fmt.Fprintf(&b, bridgeCommon, q(c.emulatorURL), q(clientID), q(clientSecret), quoteList(c.brokers))
	if c.toKafka {
		fmt.Fprintf(&b, `
[[pipelines]]
name = "bench-streamsea-to-kafka"
[pipelines.source]
type = "streamsea"
streams = [%s]
group_id = %s
[pipelines.sink]
type = "kafka"
topic = %s
batch_timeout = %s
`, q(c.stream), q(benchGroup), q(c.topic), q(o.BatchTimeout.String()))
	} else {
		fmt.Fprintf(&b, `
[[pipelines]]
name = "bench-kafka-to-streamsea"
[pipelines.source]
type = "kafka"
topics = [%s]
group_id = %s
start_offset = "earliest"
[pipelines.sink]
type = "streamsea"
stream = %s
`, q(c.topic), q(c.group), q(c.stream))
		fmt.Fprintf(&b, toStreamseaSchema, q(c.stream))
	}
	fmt.Fprintf(&b, `
[pipelines.batch]
size = %d
[pipelines.dead_letter]
policy = "stop"
`, o.Batch)
	cfg, err := config.LoadBytes([]byte(b.String()), o.Environ)
	if err != nil {
		return nil, fmt.Errorf("bridge config: %w", err)
	}
	return cfg, nil
}

func q(s string) string { return strconv.Quote(s) }

func quoteList(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = q(s)
	}
	return strings.Join(out, ", ")
}

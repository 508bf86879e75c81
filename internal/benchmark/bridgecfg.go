package benchmark

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/seabridge/seabridge/internal/config"
)

// Names of the benchmark's pipelines, for BRIDGE_PIPELINES__<name>__... overrides.
const (
	PipelineKafkaToStreamsea = "bench-kafka-to-streamsea"
	PipelineStreamseaToKafka = "bench-streamsea-to-kafka"
)

// bridgeCommon is the part of every bridge config that does not depend on the pipelines: the
// metrics and health listener (readiness is how the benchmark knows the bridge is up), one
// connection each way, warnings only in the log.
const bridgeCommon = `
[bridge]
instance_id = "bench"
shutdown_timeout = "5s"
log_level = "warn"

[http]
listen = %s

[streamsea.default]
url = %s
client_id = %s
client_secret = %s

[kafka.default]
brokers = [%s]
`

// pipelineSpec is one pipeline of a benchmark bridge config. The bridge's defaults apply to
// everything not named here: batching, validation, gzip, commit interval, linger.
type pipelineSpec struct {
	name    string
	toKafka bool   // direction
	stream  string // source stream (to Kafka) or target stream (to stream-sea)
	topic   string // target topic (to Kafka) or source topic (to stream-sea)
	group   string // Kafka consumer group (to stream-sea only)
	spool   string // spool directory, fsync = "interval" (to Kafka only; "" without a spool)
}

// bridgeConfig is the config of one bridge process.
type bridgeConfig struct {
	listen      string // metrics and health address
	emulatorURL string
	brokers     []string
	pipelines   []pipelineSpec
}

// toml renders the config.
func (c bridgeConfig) toml() string {
	var b strings.Builder
	fmt.Fprintf(&b, bridgeCommon, q(c.listen), q(c.emulatorURL), q(clientID), q(clientSecret), quoteList(c.brokers))
	for _, p := range c.pipelines {
		if p.toKafka {
			fmt.Fprintf(&b, `
[[pipelines]]
name = %s
[pipelines.source]
type = "streamsea"
streams = [%s]
group_id = %s
[pipelines.sink]
type = "kafka"
topic = %s
[pipelines.dead_letter]
policy = "stop"
`, q(p.name), q(p.stream), q(benchGroup), q(p.topic))
			if p.spool != "" {
				fmt.Fprintf(&b, "[pipelines.spool]\ndir = %s\nfsync = \"interval\"\n", q(p.spool))
			}
			continue
		}
		fmt.Fprintf(&b, `
[[pipelines]]
name = %s
[pipelines.source]
type = "kafka"
topics = [%s]
group_id = %s
start_offset = "earliest"
[pipelines.dead_letter]
policy = "stop"
[pipelines.sink]
type = "streamsea"
stream = %s
`, q(p.name), q(p.topic), q(p.group), q(p.stream))
		fmt.Fprintf(&b, positionSchema, q(p.stream))
	}
	return b.String()
}

// environ returns the BRIDGE_* overrides of environ that apply to this config: every one that
// does not name a pipeline, and those that name one of its pipelines (the loader refuses an
// override for a pipeline the config does not have).
func (c bridgeConfig) environ(environ []string) []string {
	var out []string
	for _, kv := range environ {
		rest, ok := strings.CutPrefix(kv, "BRIDGE_PIPELINES__")
		if !ok {
			out = append(out, kv)
			continue
		}
		name, _, _ := strings.Cut(rest, "__")
		for _, p := range c.pipelines {
			if config.EnvLevelNames(name, p.name) {
				out = append(out, kv)
				break
			}
		}
	}
	return out
}

// check loads the config with its overrides as the bridge will, so that a bad override is
// reported before any process starts.
func (c bridgeConfig) check(environ []string) error {
	if _, err := config.LoadBytes([]byte(c.toml()), c.environ(environ)); err != nil {
		return fmt.Errorf("bridge config: %w", err)
	}
	return nil
}

func q(s string) string { return strconv.Quote(s) }

func quoteList(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = q(s)
	}
	return strings.Join(out, ", ")
}

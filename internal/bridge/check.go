package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"

	"github.com/seabridge/seabridge/internal/config"
	"github.com/seabridge/seabridge/internal/kafkautil"
)

// ConnectCheck is one read-only check of a server that enabled pipelines use.
type ConnectCheck struct {
	Name string
	Run  func(ctx context.Context) (detail string, err error)
}

// ConnectChecks lists the read-only checks of every server that enabled pipelines use: Kafka
// brokers, credentials and topics; stream-sea REST credentials and schema versions. They
// define, publish and commit nothing.
func ConnectChecks(cfg *config.Config, version string) []ConnectCheck {
	w := newWiring(cfg, version, slog.New(slog.DiscardHandler))
	kafkaTopics := map[string]map[string]bool{} // connection -> topics
	streamseaStreams := map[string]map[string]*config.Sink{}
	addTopic := func(conn, topic string) {
		if kafkaTopics[conn] == nil {
			kafkaTopics[conn] = map[string]bool{}
		}
		if topic != "" {
			kafkaTopics[conn][topic] = true
		}
	}
	for i := range cfg.Pipelines {
		p := &cfg.Pipelines[i]
		if !p.Enabled {
			continue
		}
		for _, end := range []struct {
			typ        config.Endpoint
			conn       string
			topics     []string
			sink       *config.Sink
			streamName string
		}{
			{p.Source.Type, p.Source.Connection, p.Source.Topics, nil, ""},
			{p.Sink.Type, p.Sink.Connection, []string{p.Sink.Topic}, &p.Sink, p.Sink.Stream},
		} {
			switch end.typ {
			case config.EndpointKafka:
				for _, t := range end.topics {
					addTopic(end.conn, t)
				}
			case config.EndpointStreamsea:
				if streamseaStreams[end.conn] == nil {
					streamseaStreams[end.conn] = map[string]*config.Sink{}
				}
				if end.sink != nil && end.streamName != "" {
					streamseaStreams[end.conn][end.streamName] = end.sink
				}
			}
		}
		if p.DeadLetter.Policy == config.PolicyDLQ {
			addTopic(p.DeadLetter.Connection, p.DeadLetter.Topic)
		}
	}
	var checks []ConnectCheck
	for _, name := range sortedKeys(kafkaTopics) {
		topics := sortedKeys(kafkaTopics[name])
		checks = append(checks, ConnectCheck{Name: fmt.Sprintf("kafka[%q]", name), Run: func(ctx context.Context) (string, error) {
			conn, err := w.kafkaConn(name)
			if err != nil {
				return "", err
			}
			if err := conn.Check(ctx); err != nil {
				return "", err
			}
			client, transport, err := conn.Client()
			if err != nil {
				return "", err
			}
			defer transport.CloseIdleConnections()
			if err := kafkautil.CheckTopics(ctx, client, topics...); err != nil {
				return "", err
			}
			return fmt.Sprintf(" (brokers reachable, credentials accepted, topics present: %v)", topics), nil
		}})
	}
	for _, name := range sortedKeys(streamseaStreams) {
		sinks := streamseaStreams[name]
		checks = append(checks, ConnectCheck{Name: fmt.Sprintf("streamsea[%q]", name), Run: func(ctx context.Context) (string, error) {
			if c, err := w.streamseaConn(name); err == nil && c.ClientSecret.Value() == "" {
				// A source-only connection may sign in with a JWT alone; REST needs the secret,
				// and validate does not dial the websocket (a subscription would join the group).
				return " (not checked: no client_secret for the REST API; the websocket is not dialled by validate)", nil
			}
			client, err := w.restClient(name)
			if err != nil {
				return "", err
			}
			streams := sortedKeys(sinks)
			versions, err := client.SchemaVersions(ctx, append([]string{}, streams...))
			if err != nil {
				return "", err
			}
			var problems []error
			detail := " (REST reachable, credentials accepted"
			for i, s := range streams {
				want := sinks[s].Schema
				got := "none"
				if versions[i] != nil {
					got = fmt.Sprint(int64(*versions[i]))
				}
				if want == nil {
					detail += fmt.Sprintf("; stream %q schema version on server: %s", s, got)
					continue
				}
				detail += fmt.Sprintf("; stream %q: server version %s, configured %d", s, got, int64(want.Version))
				if versions[i] != nil && int64(*versions[i]) > int64(want.Version) && sinks[s].OnSchemaConflict != "use_server" {
					problems = append(problems, fmt.Errorf("stream %q: the server has schema version %d, newer than the configured %d (on_schema_conflict = %q)",
						s, int64(*versions[i]), int64(want.Version), sinks[s].OnSchemaConflict))
				}
				if versions[i] != nil && int64(*versions[i]) == int64(want.Version) {
					server, err := client.DescribeStream(ctx, s)
					if err != nil {
						problems = append(problems, err)
					} else if !server.SameDefinition(want) {
						problems = append(problems, fmt.Errorf("stream %q: the server's schema version %d differs from the configured one: %v", s, int64(want.Version), want.Diff(server)))
					}
				}
			}
			return detail + ")", errors.Join(problems...)
		}})
	}
	return checks
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

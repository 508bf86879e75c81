package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/segmentio/kafka-go"

	"github.com/seabridge/seabridge/internal/config"
	"github.com/seabridge/seabridge/internal/kafkautil"
	"github.com/seabridge/seabridge/internal/streamsea/emulator"
)

// The emulator credentials `bridge dev` fills in for the default stream-sea connection when a
// config leaves them out.
const (
	devClientID     = "bridge"
	devClientSecret = "bridge-secret"
)

// devTopicPartitions is the partition count of every topic `bridge dev` creates.
const devTopicPartitions = 3

// devCredentialEnv returns the BRIDGE_ variables that give the default stream-sea connection
// the emulator's credentials, for those of client_id and client_secret that neither the file
// at path nor environ sets (client_secret_file counts as a secret). A file that cannot be read
// or parsed gets none: the loader reports it, naming the file.
func devCredentialEnv(path string, environ []string) []string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var doc map[string]any
	if err := toml.Unmarshal(raw, &doc); err != nil {
		return nil
	}
	conn := map[string]any{}
	if ss, ok := doc["streamsea"].(map[string]any); ok {
		if d, ok := ss[config.DefaultConnection].(map[string]any); ok {
			conn = d
		}
	}
	set := func(keys ...string) bool {
		for _, k := range keys {
			if _, ok := conn[k]; ok {
				return true
			}
			if envSet(environ, "BRIDGE_STREAMSEA__DEFAULT__"+strings.ToUpper(k)) {
				return true
			}
		}
		return false
	}
	var env []string
	if !set("client_id") {
		env = append(env, "BRIDGE_STREAMSEA__DEFAULT__CLIENT_ID="+devClientID)
	}
	if !set("client_secret", "client_secret_file") {
		env = append(env, "BRIDGE_STREAMSEA__DEFAULT__CLIENT_SECRET="+devClientSecret)
	}
	return env
}

// envSet reports whether environ sets the variable name (compared case-insensitively, as the
// config loader compares key names).
func envSet(environ []string, name string) bool {
	for _, kv := range environ {
		if k, _, ok := strings.Cut(kv, "="); ok && strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// devClients are the credentials the emulator accepts: the development default, and every
// client id and secret of a stream-sea connection of cfg that points at the emulator, so
// that a config's own credentials work against it.
func devClients(cfg *config.Config, emulatorURL string) []emulator.Client {
	clients := []emulator.Client{{ID: devClientID, Secret: devClientSecret}}
	names := make([]string, 0, len(cfg.Streamsea))
	for name := range cfg.Streamsea {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		c := cfg.Streamsea[name]
		id, secret := c.ClientID, c.ClientSecret.Value()
		if c.URL != emulatorURL || id == "" || secret == "" {
			continue
		}
		if slices.ContainsFunc(clients, func(e emulator.Client) bool { return e.ID == id }) {
			continue // the first secret of an id wins; a second one fails authentication, as it would on a server
		}
		clients = append(clients, emulator.Client{ID: id, Secret: secret})
	}
	return clients
}

// devTopicsOf lists, sorted and once each, every fixed Kafka topic cfg names on the Kafka
// connections whose brokers are exactly brokers (the embedded broker): source topics, sink
// topics and dead-letter topics, of enabled and disabled pipelines alike. Topics chosen per
// message by a mapping.topic template cannot be known in advance and are not listed.
func devTopicsOf(cfg *config.Config, brokers []string) []string {
	embedded := func(conn string) bool {
		c, ok := cfg.Kafka[conn]
		return ok && slices.Equal(c.Brokers, brokers)
	}
	var topics []string
	for _, p := range cfg.Pipelines {
		if p.Source.Type == config.EndpointKafka && embedded(p.Source.Connection) {
			topics = append(topics, p.Source.Topics...)
		}
		if p.Sink.Type == config.EndpointKafka && p.Sink.Topic != "" && embedded(p.Sink.Connection) {
			topics = append(topics, p.Sink.Topic)
		}
		if p.DeadLetter.Policy == config.PolicyDLQ && p.DeadLetter.Topic != "" && embedded(p.DeadLetter.Connection) {
			topics = append(topics, p.DeadLetter.Topic)
		}
	}
	slices.Sort(topics)
	return slices.Compact(topics)
}

// createDevTopics creates topics on the embedded broker, each with devTopicPartitions
// partitions; topics that exist already are left as they are.
func createDevTopics(ctx context.Context, broker string, topics []string) error {
	if len(topics) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	client, transport, err := kafkautil.Conn{Brokers: []string{broker}}.Client()
	if err != nil {
		return fmt.Errorf("dev: kafka client: %w", err)
	}
	defer transport.CloseIdleConnections()
	req := &kafka.CreateTopicsRequest{}
	for _, t := range topics {
		req.Topics = append(req.Topics, kafka.TopicConfig{Topic: t, NumPartitions: devTopicPartitions, ReplicationFactor: 1})
	}
	resp, err := client.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("dev: create topics %v: %w", topics, err)
	}
	var errs []error
	for _, t := range topics {
		if err := resp.Errors[t]; err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("dev: create topic %q: %w", t, err))
		}
	}
	return errors.Join(errs...)
}

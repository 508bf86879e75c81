package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/google/uuid"
)

// path names the pipeline at index i in error paths: by name when it has one.
func (p *Pipeline) path(i int) string {
	if p.Name != "" {
		return fmt.Sprintf("pipelines[%q]", p.Name)
	}
	return fmt.Sprintf("pipelines[%d]", i)
}

func (v *validator) pipelines() {
	seen := map[string]bool{}
	enabled := 0
	for i := range v.cfg.Pipelines {
		p := &v.cfg.Pipelines[i]
		path := p.path(i)
		switch {
		case p.Name == "":
			v.add(path+".name", "required")
		case strings.IndexFunc(p.Name, func(r rune) bool { return !isNameRune(r) }) >= 0:
			v.add(path+".name", "%q may hold only letters, digits, '_', '.' and '-'", p.Name)
		case seen[p.Name]:
			v.add(path+".name", "another pipeline has this name")
		}
		seen[p.Name] = true
		if p.Enabled {
			enabled++
		}
		v.pipeline(path, p)
	}
	v.spoolDirs()
	if enabled == 0 {
		v.add("pipelines", "at least one enabled pipeline is required")
	}
}

func (v *validator) pipeline(path string, p *Pipeline) {
	v.source(path+".source", p.Source)
	v.sink(path+".sink", p.Sink, p.Mapping)
	if p.Source.Type == p.Sink.Type && p.Source.Type != "" {
		v.add(path+".sink.type", "must differ from source.type: a pipeline bridges stream-sea and Kafka")
	}
	v.mapping(path+".mapping", p.Mapping, p.Sink.Type)
	v.atLeast(path+".batch.size", p.Batch.Size, 1)
	v.atLeast(path+".batch.bytes", p.Batch.Bytes, 1)
	v.positive(path+".batch.linger", p.Batch.Linger)
	v.positive(path+".retry.initial", p.Retry.Initial)
	if p.Retry.Max < p.Retry.Initial {
		v.add(path+".retry.max", "must not be less than retry.initial (%s)", p.Retry.Initial)
	}
	v.deadLetter(path+".dead_letter", p.DeadLetter)
	v.spool(path+".spool", p.Spool, p.Source.Type)
}

// endpoint checks a source or sink type and that its connection exists.
func (v *validator) endpoint(path string, t Endpoint, connection string) bool {
	switch t {
	case EndpointStreamsea:
		if _, ok := v.cfg.Streamsea[connection]; !ok {
			v.add(path+".connection", "no [streamsea.%s] connection is configured", connection)
		}
	case EndpointKafka:
		if _, ok := v.cfg.Kafka[connection]; !ok {
			v.add(path+".connection", "no [kafka.%s] connection is configured", connection)
		}
	case "":
		v.add(path+".type", "required: \"streamsea\" or \"kafka\"")
		return false
	default:
		v.add(path+".type", "%q is not one of \"streamsea\", \"kafka\"", string(t))
		return false
	}
	return true
}

func (v *validator) source(path string, s Source) {
	if !v.endpoint(path, s.Type, s.Connection) {
		return
	}
	v.foreignKeys(path, "source", s, s.Type, sourceKeyOwner)
	v.atLeast(path+".max_in_flight", s.MaxInFlight, 1)
	v.atLeast(path+".max_in_flight_bytes", s.MaxInFlightBytes, 1)
	if s.Type == EndpointStreamsea {
		v.names(path+".streams", s.Streams)
		if s.GroupID != "" && !isUUID(s.GroupID) {
			v.add(path+".group_id", "%q is not an RFC 4122 UUID", s.GroupID)
		}
		return
	}
	v.names(path+".topics", s.Topics)
	for i, t := range s.Topics {
		v.topic(fmt.Sprintf("%s.topics[%d]", path, i), t)
	}
	if s.GroupID == "" {
		v.add(path+".group_id", "required for a kafka source")
	}
	v.oneOf(path+".start_offset", s.StartOffset, enumOf[Source]("start_offset")...)
	v.positive(path+".commit_interval", s.CommitInterval)
	v.atLeast(path+".min_bytes", s.MinBytes, 1)
	if s.MaxBytes < s.MinBytes {
		v.add(path+".max_bytes", "must not be less than min_bytes (%d)", s.MinBytes)
	}
	v.positive(path+".max_wait", s.MaxWait)
	if s.LagInterval < time.Second {
		v.add(path+".lag_interval", "must be at least 1s, not %s", s.LagInterval)
	}
	v.groupTimings(path, s)
}

// groupTimings checks the consumer-group timings of a kafka source.
func (v *validator) groupTimings(path string, s Source) {
	v.positive(path+".heartbeat_interval", s.HeartbeatInterval)
	v.positive(path+".session_timeout", s.SessionTimeout)
	v.positive(path+".rebalance_timeout", s.RebalanceTimeout)
	v.positive(path+".join_group_backoff", s.JoinGroupBackoff)
	if s.HeartbeatInterval > 0 && s.SessionTimeout > 0 && s.HeartbeatInterval >= s.SessionTimeout {
		v.add(path+".heartbeat_interval", "must be less than session_timeout (%s)", s.SessionTimeout)
	}
}

func sourceKeyOwner(key string) Endpoint {
	switch key {
	case "streams":
		return EndpointStreamsea
	case "topics", "start_offset", "commit_interval", "min_bytes", "max_bytes", "max_wait", "lag_interval",
		"heartbeat_interval", "session_timeout", "rebalance_timeout", "join_group_backoff":
		return EndpointKafka
	}
	return ""
}

func sinkKeyOwner(key string) Endpoint {
	switch key {
	case "stream", "schema", "schema_file", "on_schema_conflict", "validate", "max_in_flight_requests":
		return EndpointStreamsea
	case "topic", "acks", "compression", "partitioner", "batch_size", "batch_bytes", "batch_timeout",
		"max_attempts", "write_timeout", "headers":
		return EndpointKafka
	}
	return ""
}

// foreignKeys reports keys set (non-zero) that belong to the other endpoint type.
func (v *validator) foreignKeys(path, what string, section any, t Endpoint, owner func(string) Endpoint) {
	rv := reflect.ValueOf(section)
	for i := range rv.NumField() {
		key := rv.Type().Field(i).Tag.Get("koanf")
		if o := owner(key); o != "" && o != t && !rv.Field(i).IsZero() {
			v.add(path+"."+key, "not a key of a %s %s (only of a %s %s)", t, what, o, what)
		}
	}
}

// maxInFlightRequests bounds sink.max_in_flight_requests (the runner's limit of concurrent writes).
const maxInFlightRequests = 64

func (v *validator) sink(path string, s Sink, m Mapping) {
	if !v.endpoint(path, s.Type, s.Connection) {
		return
	}
	v.foreignKeys(path, "sink", s, s.Type, sinkKeyOwner)
	if s.Type == EndpointKafka {
		v.kafkaSink(path, s, m)
		return
	}
	v.oneOf(path+".on_schema_conflict", s.OnSchemaConflict, enumOf[Sink]("on_schema_conflict")...)
	v.atLeast(path+".max_in_flight_requests", s.MaxInFlightRequests, 1)
	if s.MaxInFlightRequests > maxInFlightRequests {
		v.add(path+".max_in_flight_requests", "%d is above the limit of %d", s.MaxInFlightRequests, maxInFlightRequests)
	}
	switch {
	case s.Stream == "" && m.Stream == "":
		v.add(path+".stream", "required unless mapping.stream is set")
	case s.Schema == nil:
	case m.Stream != "":
		v.add(path+".schema", "needs one fixed stream: remove mapping.stream or the schema")
	case s.Schema.Name != s.Stream:
		v.add(path+".schema.name", "%q must equal sink.stream %q", s.Schema.Name, s.Stream)
	}
	if s.Schema != nil {
		v.schema(path+".schema", s.Schema)
	}
}

func (v *validator) kafkaSink(path string, s Sink, m Mapping) {
	if s.Topic == "" && m.Topic == "" {
		v.add(path+".topic", "required unless mapping.topic is set")
	}
	if s.Topic != "" {
		v.topic(path+".topic", s.Topic)
	}
	v.oneOf(path+".acks", s.Acks, enumOf[Sink]("acks")...)
	v.oneOf(path+".compression", s.Compression, enumOf[Sink]("compression")...)
	v.oneOf(path+".partitioner", s.Partitioner, enumOf[Sink]("partitioner")...)
	v.atLeast(path+".batch_size", s.BatchSize, 1)
	v.atLeast(path+".batch_bytes", s.BatchBytes, 1)
	v.positive(path+".batch_timeout", s.BatchTimeout)
	v.atLeast(path+".max_attempts", s.MaxAttempts, 1)
	v.positive(path+".write_timeout", s.WriteTimeout)
}

func (v *validator) deadLetter(path string, d DeadLetter) {
	switch d.Policy {
	case PolicyDLQ:
		if d.Topic == "" {
			v.add(path+".topic", "required with policy \"dlq\"; or choose policy \"stop\" or \"drop\"")
			return
		}
		v.topic(path+".topic", d.Topic)
		if _, ok := v.cfg.Kafka[d.Connection]; !ok {
			v.add(path+".connection", "no [kafka.%s] connection is configured", d.Connection)
		}
		if d.MaxBytes < MinDeadLetterBytes || d.MaxBytes > MaxDeadLetterBytes {
			v.add(path+".max_bytes", "%d is not between %d and %d", d.MaxBytes, MinDeadLetterBytes, MaxDeadLetterBytes)
		}
	case PolicyStop, PolicyDrop:
		if d.Topic != "" {
			v.add(path+".topic", "only used with policy \"dlq\", not %q", d.Policy)
		}
	default:
		v.oneOf(path+".policy", d.Policy, enumOf[DeadLetter]("policy")...)
	}
}

// names checks a required list of non-empty, distinct names.
func (v *validator) names(path string, names []string) {
	if len(names) == 0 {
		v.add(path, "must not be empty")
	}
	seen := map[string]bool{}
	for i, n := range names {
		switch {
		case strings.TrimSpace(n) == "":
			v.add(fmt.Sprintf("%s[%d]", path, i), "must not be empty")
		case seen[n]:
			v.add(fmt.Sprintf("%s[%d]", path, i), "%q is listed twice", n)
		}
		seen[n] = true
	}
}

// topic checks a Kafka topic name; an empty one is reported by the caller.
func (v *validator) topic(path, t string) {
	if t != "" && !isTopic(t) {
		v.add(path, "%q is not a Kafka topic name (1-249 of a-z A-Z 0-9 . _ -)", t)
	}
}

func isTopic(t string) bool {
	if len(t) > 249 || t == "." || t == ".." {
		return false
	}
	return strings.IndexFunc(t, func(r rune) bool { return !isNameRune(r) }) < 0
}

// isNameRune is true for the characters of Kafka topic names and pipeline names.
func isNameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '.' || r == '_' || r == '-'
}

// isUUID accepts the RFC 4122 8-4-4-4-12 hex form only.
func isUUID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && len(s) == 36 && u.Variant() == uuid.RFC4122
}

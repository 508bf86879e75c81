package config

import (
	"time"

	"github.com/seabridge/seabridge/internal/mapping"
)

// DefaultConnection is the connection name a pipeline uses when it names none.
const DefaultConnection = "default"

// Default returns the configuration used when nothing is configured: process settings, one
// "default" stream-sea connection and one "default" Kafka connection, and no pipelines. Every
// call returns a fresh value.
func Default() *Config {
	return &Config{
		Bridge: Bridge{
			ShutdownTimeout:   30 * time.Second,
			LogLevel:          "info",
			LogFormat:         "text",
			OnPipelineFailure: FailureStop,
		},
		HTTP:      HTTP{Listen: "127.0.0.1:9464"},
		Streamsea: map[string]StreamseaConnection{DefaultConnection: DefaultStreamsea()},
		Kafka:     map[string]KafkaConnection{DefaultConnection: DefaultKafka()},
	}
}

// DefaultStreamsea returns the defaults every [streamsea.NAME] table starts from.
func DefaultStreamsea() StreamseaConnection {
	return StreamseaConnection{
		URL:              "http://127.0.0.1:3104",
		JWTTTL:           time.Hour,
		Gzip:             true,
		RequestTimeout:   10 * time.Second,
		DeadAfter:        60 * time.Second,
		MaxFrameBytes:    16 << 20,
		ReconnectInitial: 500 * time.Millisecond,
		ReconnectMax:     5 * time.Second,
	}
}

// DefaultKafka returns the defaults every [kafka.NAME] table starts from.
func DefaultKafka() KafkaConnection {
	return KafkaConnection{
		Brokers:     []string{"127.0.0.1:9092"},
		ClientID:    "seabridge",
		DialTimeout: 10 * time.Second,
	}
}

// DefaultPipeline returns the defaults every [[pipelines]] entry starts from, with the
// source and sink defaults of the given types. An unknown type gets only the shared defaults.
func DefaultPipeline(source, sink Endpoint) Pipeline {
	return Pipeline{
		Enabled: true,
		Source:  DefaultSource(source),
		Sink:    DefaultSink(sink),
		Batch:   Batch{Size: 500, Bytes: 1 << 20, Linger: 5 * time.Millisecond},
		Retry:   Retry{Initial: 200 * time.Millisecond, Max: 5 * time.Second},
		DeadLetter: DeadLetter{
			Connection: DefaultConnection,
			Policy:     PolicyDLQ,
			MaxBytes:   1 << 20,
		},
		Mapping: Mapping{JQTimeout: mapping.DefaultJQTimeout, JQMaxBytes: mapping.DefaultJQMaxBytes},
		Spool:   DefaultSpool(),
	}
}

// DefaultSpool returns the defaults of [pipelines.spool]: off (no dir), 1 GiB, block, fsync
// every second.
func DefaultSpool() Spool {
	return Spool{MaxBytes: 1 << 30, WhenFull: SpoolBlock, Fsync: FsyncInterval, FsyncInterval: time.Second}
}

// DefaultSource returns the source defaults for one source type.
func DefaultSource(t Endpoint) Source {
	s := Source{Type: t, Connection: DefaultConnection, MaxInFlight: 10000, MaxInFlightBytes: 64 << 20}
	if t == EndpointKafka {
		s.StartOffset = "earliest"
		s.CommitInterval = time.Second
		s.MinBytes = 1
		s.MaxBytes = 10 << 20
		s.MaxWait = 250 * time.Millisecond
		s.LagInterval = 5 * time.Second
		// kafka-go's own defaults.
		s.HeartbeatInterval = 3 * time.Second
		s.SessionTimeout = 30 * time.Second
		s.RebalanceTimeout = 30 * time.Second
		s.JoinGroupBackoff = 5 * time.Second
	}
	return s
}

// DefaultSink returns the sink defaults for one sink type.
func DefaultSink(t Endpoint) Sink {
	s := Sink{Type: t, Connection: DefaultConnection}
	switch t {
	case EndpointKafka:
		s.Acks = "all"
		s.Compression = "none"
		s.Partitioner = "murmur2"
		s.BatchSize = 500
		s.BatchBytes = 1 << 20
		s.BatchTimeout = time.Microsecond
		s.MaxAttempts = 3
		s.WriteTimeout = 10 * time.Second
		s.Headers = true
	case EndpointStreamsea:
		s.OnSchemaConflict = "fail"
		s.Validate = true
		s.MaxInFlightRequests = 4
	}
	return s
}

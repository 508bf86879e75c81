package config

import (
	"net/url"
	"strings"
	"time"

	"github.com/seabridge/seabridge/internal/streamsea"
)

// Config is the whole bridge configuration: plain data, no runtime state. Build one with Load,
// LoadBytes or Default; check a hand-built one with Validate.
type Config struct {
	Bridge    Bridge                         `koanf:"bridge"`
	HTTP      HTTP                           `koanf:"http"`
	Streamsea map[string]StreamseaConnection `koanf:"streamsea"`
	Kafka     map[string]KafkaConnection     `koanf:"kafka"`
	Pipelines []Pipeline                     `koanf:"pipelines"`
}

// Bridge holds process-wide settings.
type Bridge struct {
	InstanceID      string        `koanf:"instance_id"`      // Load fills in the hostname when empty
	ShutdownTimeout time.Duration `koanf:"shutdown_timeout"` // soft-shutdown budget
	LogLevel        string        `koanf:"log_level" enum:"debug,info,warn,error"`
	LogFormat       string        `koanf:"log_format" enum:"text,json"`
	// OnPipelineFailure is what one pipeline's fatal error does: FailureStop stops the bridge,
	// FailureIsolate stops that pipeline only.
	OnPipelineFailure string `koanf:"on_pipeline_failure" enum:"stop,isolate"`
}

// Values of bridge.on_pipeline_failure.
const (
	FailureStop    = "stop"
	FailureIsolate = "isolate"
)

// HTTP configures the observability server. An empty Listen disables it. Pprof serves the Go
// runtime profiles under /debug/pprof/.
type HTTP struct {
	Listen string `koanf:"listen"`
	Pprof  bool   `koanf:"pprof"`
}

// TLS configures a client TLS connection. File paths are absolute after Load.
type TLS struct {
	Enabled            bool   `koanf:"enabled"`
	CAFile             string `koanf:"ca_file"`
	CertFile           string `koanf:"cert_file"`
	KeyFile            string `koanf:"key_file"`
	InsecureSkipVerify bool   `koanf:"insecure_skip_verify"`
}

// StreamseaConnection is one named stream-sea server and its credentials. After Load,
// ClientSecret and JWT hold the contents of their *_file when one was given, JWTPrivateKey the
// contents of JWTPrivateKeyFile, and TLS.Enabled is true for an https URL.
//
// The websocket authenticates with, in order of preference: tokens minted from JWTPrivateKey
// (each valid for JWTTTL, with the mustFanout claim when JWTMustFanout), the fixed JWT, or
// ClientSecret. REST calls always use ClientSecret.
type StreamseaConnection struct {
	URL               string        `koanf:"url"`
	ClientID          string        `koanf:"client_id"`
	ClientSecret      Secret        `koanf:"client_secret"`
	ClientSecretFile  string        `koanf:"client_secret_file"`
	JWT               Secret        `koanf:"jwt"`
	JWTFile           string        `koanf:"jwt_file"`
	JWTPrivateKeyFile string        `koanf:"jwt_private_key_file"`
	JWTPrivateKey     Secret        `koanf:"-"` // PEM, read from JWTPrivateKeyFile
	JWTTTL            time.Duration `koanf:"jwt_ttl"`
	JWTMustFanout     bool          `koanf:"jwt_must_fanout"`
	Gzip              bool          `koanf:"gzip"`
	RequestTimeout    time.Duration `koanf:"request_timeout"`
	DeadAfter         time.Duration `koanf:"dead_after"`
	MaxFrameBytes     int           `koanf:"max_frame_bytes"`
	ReconnectInitial  time.Duration `koanf:"reconnect_initial"`
	ReconnectMax      time.Duration `koanf:"reconnect_max"`
	TLS               TLS           `koanf:"tls"`
}

// WebsocketURL derives the websocket endpoint from URL: ws for http, wss for https, with
// /api/v1/streams appended to the path. It returns "" when URL does not parse.
func (c StreamseaConnection) WebsocketURL() string {
	u, err := url.Parse(c.URL)
	if err != nil {
		return ""
	}
	u.User = nil // credentials are never sent in a URL (and Validate refuses them), nor a query
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = "", false, "", ""
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return ""
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/api/v1/streams"
	return u.String()
}

// KafkaConnection is one named Kafka cluster.
type KafkaConnection struct {
	Brokers     []string      `koanf:"brokers"`
	ClientID    string        `koanf:"client_id"`
	DialTimeout time.Duration `koanf:"dial_timeout"`
	TLS         TLS           `koanf:"tls"`
	SASL        SASL          `koanf:"sasl"`
}

// SASL mechanisms accepted in SASL.Mechanism; "" disables SASL.
const (
	SASLPlain       = "plain"
	SASLScramSHA256 = "scram-sha-256"
	SASLScramSHA512 = "scram-sha-512"
)

// SASL configures Kafka authentication. After Load, Password holds the contents of
// PasswordFile when one was given.
type SASL struct {
	Mechanism    string `koanf:"mechanism" enum:",plain,scram-sha-256,scram-sha-512"`
	Username     string `koanf:"username"`
	Password     Secret `koanf:"password"`
	PasswordFile string `koanf:"password_file"`
}

// Endpoint names the system a pipeline source or sink talks to.
type Endpoint string

// The two endpoint types.
const (
	EndpointStreamsea Endpoint = "streamsea"
	EndpointKafka     Endpoint = "kafka"
)

// Pipeline moves messages one way between stream-sea and Kafka.
type Pipeline struct {
	Name       string     `koanf:"name"`
	Enabled    bool       `koanf:"enabled"`
	Source     Source     `koanf:"source"`
	Mapping    Mapping    `koanf:"mapping"`
	Sink       Sink       `koanf:"sink"`
	Batch      Batch      `koanf:"batch"`
	Retry      Retry      `koanf:"retry"`
	DeadLetter DeadLetter `koanf:"dead_letter"`
	Spool      Spool      `koanf:"spool"`
}

// Source is where a pipeline reads. Type selects which fields apply: Streams for a streamsea
// source; Topics, StartOffset, CommitInterval, MinBytes, MaxBytes, MaxWait, LagInterval and the consumer-group
// timings (HeartbeatInterval, SessionTimeout, RebalanceTimeout, JoinGroupBackoff) for a kafka
// source; GroupID, MaxInFlight and MaxInFlightBytes for both. Connection names an entry of Config.Streamsea or
// Config.Kafka according to Type.
type Source struct {
	Type           Endpoint      `koanf:"type" enum:"streamsea,kafka"`
	Connection     string        `koanf:"connection"`
	Streams        []string      `koanf:"streams"`
	Topics         []string      `koanf:"topics"`
	GroupID        string        `koanf:"group_id"`
	StartOffset    string        `koanf:"start_offset" enum:"earliest,latest"`
	CommitInterval time.Duration `koanf:"commit_interval"`
	MinBytes       int           `koanf:"min_bytes"`
	MaxBytes       int           `koanf:"max_bytes"`
	MaxWait        time.Duration `koanf:"max_wait"`
	MaxInFlight    int           `koanf:"max_in_flight"`
	LagInterval    time.Duration `koanf:"lag_interval"` // kafka: how often the group's lag is read from the brokers
	// MaxInFlightBytes bounds the bytes in flight: the payloads of a streamsea source, the
	// keys, values and headers of a kafka source.
	MaxInFlightBytes int `koanf:"max_in_flight_bytes"`

	// Consumer-group timings of a kafka source. SessionTimeout is how long the group
	// coordinator waits for a member's heartbeat before it moves the member's partitions
	// to the others; the broker only accepts values within its
	// group.min.session.timeout.ms..group.max.session.timeout.ms (6s..30m by default).
	HeartbeatInterval time.Duration `koanf:"heartbeat_interval"`
	SessionTimeout    time.Duration `koanf:"session_timeout"`
	RebalanceTimeout  time.Duration `koanf:"rebalance_timeout"`
	JoinGroupBackoff  time.Duration `koanf:"join_group_backoff"`
}

// Sink is where a pipeline writes. Type selects which fields apply: Topic, Acks, Compression,
// Partitioner, BatchSize, BatchBytes, BatchTimeout, MaxAttempts, WriteTimeout and Headers for a kafka sink;
// Stream, Schema, SchemaFile, OnSchemaConflict, Validate and MaxInFlightRequests for a
// streamsea sink. After Load,
// Schema holds the parsed SchemaFile when one was given.
type Sink struct {
	Type             Endpoint          `koanf:"type" enum:"kafka,streamsea"`
	Connection       string            `koanf:"connection"`
	Topic            string            `koanf:"topic"`
	Acks             string            `koanf:"acks" enum:"all,one,none"`
	Compression      string            `koanf:"compression" enum:"none,gzip,snappy,lz4,zstd"`
	Partitioner      string            `koanf:"partitioner" enum:"murmur2,crc32,fnv1a,round_robin"`
	BatchSize        int               `koanf:"batch_size"`
	BatchBytes       int               `koanf:"batch_bytes"`
	BatchTimeout     time.Duration     `koanf:"batch_timeout"`
	MaxAttempts      int               `koanf:"max_attempts"`
	WriteTimeout     time.Duration     `koanf:"write_timeout"`
	Headers          bool              `koanf:"headers"`
	Stream           string            `koanf:"stream"`
	Schema           *streamsea.Schema `koanf:"schema"`
	SchemaFile       string            `koanf:"schema_file"`
	OnSchemaConflict string            `koanf:"on_schema_conflict" enum:"fail,use_server"`
	Validate         bool              `koanf:"validate"`
	// MaxInFlightRequests is how many publish requests a streamsea sink has in flight at
	// once; batches are laned by Kafka partition so that each partition stays in order.
	MaxInFlightRequests int `koanf:"max_in_flight_requests"`
}

// Mapping is the per-message transformation. Every field is optional; the zero value passes
// messages through unchanged. Pointers are RFC 6901 JSON pointers; templates are literal text with
// {/json/pointer} placeholders.
type Mapping struct {
	Key             string            `koanf:"key"`
	Topic           string            `koanf:"topic"`
	Stream          string            `koanf:"stream"`
	Include         []string          `koanf:"include"`
	Rename          map[string]string `koanf:"rename"`
	Static          map[string]any    `koanf:"static"`
	HeadersToFields map[string]string `koanf:"headers_to_fields"`
	FieldsToHeaders map[string]string `koanf:"fields_to_headers"`
	JQ              string            `koanf:"jq"`
	JQTimeout       time.Duration     `koanf:"jq_timeout"`
	JQMaxBytes      int               `koanf:"jq_max_bytes"`
	Envelope        bool              `koanf:"envelope"`
}

// Batch is the runner's batching: a batch is written when it holds Size messages or Bytes
// bytes, or Linger after its first message.
type Batch struct {
	Size   int           `koanf:"size"`
	Bytes  int           `koanf:"bytes"`
	Linger time.Duration `koanf:"linger"`
}

// Retry is the runner's backoff between failed writes or reconnects.
type Retry struct {
	Initial time.Duration `koanf:"initial"`
	Max     time.Duration `koanf:"max"`
}

// Dead-letter policies.
const (
	PolicyDLQ  = "dlq"  // poison messages go to DeadLetter.Topic, then are acked
	PolicyStop = "stop" // a poison message stops the pipeline
	PolicyDrop = "drop" // poison messages are counted and acked
)

// DeadLetter says what happens to a poison message. Connection names an entry of Config.Kafka.
type DeadLetter struct {
	Topic      string `koanf:"topic"`
	Connection string `koanf:"connection"`
	Policy     string `koanf:"policy" enum:"dlq,stop,drop"`
	// MaxBytes is the largest dead-letter record written whole; larger ones are written
	// without the message's value (then key and headers).
	MaxBytes int `koanf:"max_bytes"`
}

// Bounds of dead_letter.max_bytes: a record without value, key and original headers (the
// error text cut to 1 KiB) must fit, and Kafka counts sizes in 32 bits.
const (
	MinDeadLetterBytes = 4096
	MaxDeadLetterBytes = 1<<31 - 1
)

// Spool values of WhenFull and Fsync.
const (
	SpoolBlock      = "block"       // wait for room: the websocket is no longer read
	SpoolDropOldest = "drop_oldest" // delete the oldest records, counted
	SpoolDropNewest = "drop_newest" // refuse new records, counted
	FsyncAlways     = "always"
	FsyncInterval   = "interval"
	FsyncNever      = "never"
)

// Spool is the durable local buffer of a stream-sea source: received messages are appended to
// files in Dir before they count as received, and the pipeline reads them from there. It is
// off while Dir is empty. After Load a relative Dir is absolute against the config file's
// directory.
type Spool struct {
	Dir           string        `koanf:"dir"`
	MaxBytes      int64         `koanf:"max_bytes"`
	MaxAge        time.Duration `koanf:"max_age"` // 0: no limit
	WhenFull      string        `koanf:"when_full" enum:"block,drop_oldest,drop_newest"`
	Fsync         string        `koanf:"fsync" enum:"always,interval,never"`
	FsyncInterval time.Duration `koanf:"fsync_interval"`
}

// Enabled reports whether the spool is on.
func (s Spool) Enabled() bool { return s.Dir != "" }

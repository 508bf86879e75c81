package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/streamsea"
)

// Values of StreamSeaOptions.OnSchemaConflict.
const (
	OnSchemaConflictFail      = "fail"
	OnSchemaConflictUseServer = "use_server"
)

const defaultMaxBatchBytes = 1 << 20

// StreamSeaOptions configures a StreamSea sink.
type StreamSeaOptions struct {
	Pipeline string            // names the pipeline in errors, logs and metric labels
	Client   *streamsea.Client // shared REST client
	Stream   string            // default target stream; Message.TargetStream overrides per message
	// Schema is the desired schema of Stream. nil: Connect ensures nothing and messages are
	// only checked to be JSON objects. Its name must be empty (then Stream) or equal Stream.
	Schema *streamsea.Schema
	// OnSchemaConflict says what Connect does when the server holds a newer version of the
	// schema: "fail" (default) or "use_server" (validate against the server's schema).
	OnSchemaConflict string
	// Validate validates messages for Stream against the schema before publishing them. The
	// configuration defaults it to true whenever a schema is set; without a schema it has no
	// effect.
	Validate bool
	// MaxBatchBytes splits a Write into several publish requests above this (uncompressed)
	// body size; default 1 MiB. A message larger than it is sent alone.
	MaxBatchBytes int
}

// StreamSea is a pipeline.Sink that publishes to stream-sea over its REST API. Connect makes
// sure the schema of the default stream is the configured one; Write validates, batches and
// publishes. Write is safe for concurrent use (the runner may have several publishes in
// flight); Connect is not called concurrently with itself, and a Write concurrent with
// Connect may fail with pipeline.ErrNotConnected. Close may be called at any time and any
// number of times.
type StreamSea struct {
	opts    StreamSeaOptions
	log     *slog.Logger
	metrics *streamSeaPipelineMetrics

	// Set by Connect, read by Write.
	connected atomic.Bool
	validator atomic.Pointer[streamsea.Validator] // nil: only the JSON-object check
	closed    atomic.Bool

	scratch sync.Pool // *writeScratch, one per Write in progress
}

// writeScratch is the per-Write scratch: indexes of valid messages and payloads of a request.
type writeScratch struct {
	valid    []int
	payloads [][]byte
	prefix   bool // the write stops at its first poison message (WritePrefix)
}

var (
	_ pipeline.Sink         = (*StreamSea)(nil)
	_ pipeline.PrefixWriter = (*StreamSea)(nil)
)

// NewStreamSea checks opts and returns a sink; it does not contact the server.
func NewStreamSea(opts StreamSeaOptions, logger *slog.Logger, m *StreamSeaMetrics) (*StreamSea, error) {
	if err := normalizeStreamSeaOptions(&opts); err != nil {
		return nil, fmt.Errorf("stream-sea sink of pipeline %q: %w", opts.Pipeline, err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if m == nil {
		m = NewStreamSeaMetrics(nil)
	}
	return &StreamSea{
		opts:    opts,
		log:     logger.With("pipeline", opts.Pipeline, "stream", opts.Stream),
		metrics: m.forPipeline(opts.Pipeline),
	}, nil
}

func normalizeStreamSeaOptions(o *StreamSeaOptions) error {
	if o.Client == nil {
		return errors.New("no stream-sea client")
	}
	if o.Stream == "" {
		return errors.New("no stream")
	}
	switch o.OnSchemaConflict {
	case "":
		o.OnSchemaConflict = OnSchemaConflictFail
	case OnSchemaConflictFail, OnSchemaConflictUseServer:
	default:
		return fmt.Errorf("on_schema_conflict %q: want %q or %q",
			o.OnSchemaConflict, OnSchemaConflictFail, OnSchemaConflictUseServer)
	}
	if o.MaxBatchBytes <= 0 {
		o.MaxBatchBytes = defaultMaxBatchBytes
	}
	if o.Schema == nil {
		return nil
	}
	o.Schema = o.Schema.Clone()
	if o.Schema.Name == "" {
		o.Schema.Name = o.Stream
	}
	if o.Schema.Name != o.Stream {
		return fmt.Errorf("schema name %q differs from stream %q", o.Schema.Name, o.Stream)
	}
	return o.Schema.Check()
}

// Connect checks the credentials and ensures the schema of the default stream:
//   - the server has no schema, or an older version: the configured schema is defined;
//   - the server has the same version: its definition must be the same, else a fatal error
//     names both versions and the differences;
//   - the server has a newer version: with "fail" a fatal error; with "use_server" the
//     server's schema is used to validate, and a warning is logged.
//
// Rejected credentials, TLS certificate failures and schema conflicts are wrapped with
// pipeline.ErrFatal. Network and other retriable errors are returned without it: the runner
// calls Connect again.
func (s *StreamSea) Connect(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("stream-sea sink of pipeline %q: connect after close", s.opts.Pipeline)
	}
	s.connected.Store(false)
	validator, err := s.ensureSchema(ctx)
	if err != nil {
		return err
	}
	s.validator.Store(validator)
	s.connected.Store(true)
	return nil
}

// ensureSchema runs the checks of Connect and returns the validator Write must use (nil when
// there is no schema or validation is off).
func (s *StreamSea) ensureSchema(ctx context.Context) (*streamsea.Validator, error) {
	versions, err := s.opts.Client.SchemaVersions(ctx, []string{s.opts.Stream})
	if err != nil {
		return nil, s.connectError("read the schema version", err)
	}
	desired := s.opts.Schema
	if desired == nil {
		return nil, nil
	}
	server := versions[0]
	switch {
	case server == nil || *server < desired.Version:
		return s.define(ctx, server)
	case *server == desired.Version:
		return s.compareSameVersion(ctx)
	default:
		return s.useNewerServerSchema(ctx, *server)
	}
}

func (s *StreamSea) define(ctx context.Context, server *streamsea.Version) (*streamsea.Validator, error) {
	desired := s.opts.Schema
	if _, err := s.opts.Client.DefineStream(ctx, desired); err != nil {
		if apiErr, ok := errors.AsType[*streamsea.APIError](err); ok && apiErr.Status == 400 {
			s.metrics.schemaEnsure[ensureConflict].Inc()
			return nil, fmt.Errorf("%w: pipeline %q: stream-sea refused schema version %d of stream %q: %w",
				pipeline.ErrFatal, s.opts.Pipeline, desired.Version, s.opts.Stream, err)
		}
		return nil, s.connectError("define the schema", err)
	}
	s.metrics.schemaEnsure[ensureDefined].Inc()
	previous := "none"
	if server != nil {
		previous = fmt.Sprint(int64(*server))
	}
	s.log.Info("defined stream schema", "version", int64(desired.Version), "previous_version", previous)
	return s.newValidator(desired)
}

func (s *StreamSea) compareSameVersion(ctx context.Context) (*streamsea.Validator, error) {
	desired := s.opts.Schema
	got, err := s.opts.Client.DescribeStream(ctx, s.opts.Stream)
	if err != nil {
		return nil, s.connectError("describe the stream", err)
	}
	if !desired.SameDefinition(got) {
		s.metrics.schemaEnsure[ensureConflict].Inc()
		return nil, fmt.Errorf("%w: pipeline %q: stream %q: the server's schema version %d and the "+
			"configured version %d have different definitions (raise the configured version to "+
			"replace it): %s", pipeline.ErrFatal, s.opts.Pipeline, s.opts.Stream, int64(got.Version),
			int64(desired.Version), strings.Join(desired.Diff(got), "; "))
	}
	s.metrics.schemaEnsure[ensureUnchanged].Inc()
	return s.newValidator(desired)
}

func (s *StreamSea) useNewerServerSchema(ctx context.Context, server streamsea.Version) (*streamsea.Validator, error) {
	desired := s.opts.Schema
	if s.opts.OnSchemaConflict != OnSchemaConflictUseServer {
		s.metrics.schemaEnsure[ensureConflict].Inc()
		return nil, fmt.Errorf("%w: pipeline %q: stream %q: the server has schema version %d, newer "+
			"than the configured version %d (set on_schema_conflict = %q to publish against it)",
			pipeline.ErrFatal, s.opts.Pipeline, s.opts.Stream, int64(server), int64(desired.Version),
			OnSchemaConflictUseServer)
	}
	got, err := s.opts.Client.DescribeStream(ctx, s.opts.Stream)
	if err != nil {
		return nil, s.connectError("describe the stream", err)
	}
	s.metrics.schemaEnsure[ensureUsedServer].Inc()
	s.log.Warn("stream-sea has a newer schema than the configured one; validating against the server's",
		"server_version", int64(got.Version), "configured_version", int64(desired.Version),
		"differences", desired.Diff(got))
	return s.newValidator(got)
}

func (s *StreamSea) newValidator(schema *streamsea.Schema) (*streamsea.Validator, error) {
	if !s.opts.Validate {
		return nil, nil
	}
	v, err := streamsea.NewValidator(schema)
	if err != nil {
		return nil, fmt.Errorf("%w: pipeline %q: schema version %d of stream %q cannot be used to validate: %w",
			pipeline.ErrFatal, s.opts.Pipeline, int64(schema.Version), s.opts.Stream, err)
	}
	return v, nil
}

// connectError wraps an error of a Connect step: rejected credentials and TLS certificate
// failures are fatal, the rest are returned for the runner to retry.
func (s *StreamSea) connectError(step string, err error) error {
	if errors.Is(err, streamsea.ErrUnauthorized) {
		return s.credentialsError(err)
	}
	if streamsea.IsCertificateError(err) {
		return fmt.Errorf("%w: pipeline %q: %s of stream %q: TLS certificate failure (check the tls "+
			"ca_file, cert_file and key_file of the stream-sea connection): %w",
			pipeline.ErrFatal, s.opts.Pipeline, step, s.opts.Stream, err)
	}
	return fmt.Errorf("pipeline %q: %s of stream %q: %w", s.opts.Pipeline, step, s.opts.Stream, err)
}

func (s *StreamSea) credentialsError(err error) error {
	return fmt.Errorf("%w: pipeline %q: stream-sea rejected the credentials of client %q: %w",
		pipeline.ErrFatal, s.opts.Pipeline, s.opts.Client.ClientID(), err)
}

// Close marks the sink closed; later Writes fail. It is idempotent and does not close the
// shared client.
func (s *StreamSea) Close(context.Context) error {
	s.closed.Store(true)
	return nil
}

package bridge

import (
	"crypto/tls"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seabridge/seabridge/internal/backoff"
	"github.com/seabridge/seabridge/internal/config"
	"github.com/seabridge/seabridge/internal/kafkautil"
	"github.com/seabridge/seabridge/internal/mapping"
	"github.com/seabridge/seabridge/internal/observe"
	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/sink"
	"github.com/seabridge/seabridge/internal/source"
	"github.com/seabridge/seabridge/internal/spool"
	"github.com/seabridge/seabridge/internal/streamsea"
)

// metricSets are the metric families of a pipeline, registered with the pipeline's own
// registry (so that a pipeline a reload removes takes its series with it).
type metricSets struct {
	pipeline      *pipeline.Metrics
	streamseaSrc  *source.StreamSeaMetrics
	kafkaSrc      *source.KafkaMetrics
	kafkaSink     *sink.KafkaSinkMetrics
	streamseaSink *sink.StreamSeaMetrics
	spool         *spool.Metrics
}

func newMetricSets(reg prometheus.Registerer) *metricSets {
	return &metricSets{
		pipeline:      pipeline.NewMetrics(reg),
		streamseaSrc:  source.NewStreamSeaMetrics(reg),
		kafkaSrc:      source.NewKafkaMetrics(reg),
		kafkaSink:     sink.NewKafkaSinkMetrics(reg),
		streamseaSink: sink.NewStreamSeaMetrics(reg),
		spool:         spool.NewMetrics(reg),
	}
}

// builtPipeline is one configured pipeline, wired and not yet started.
type builtPipeline struct {
	name   string
	runner *pipeline.Runner
	// redelivery says where messages given up on are read again ("" when they are lost, or
	// kept by a spool): a Kafka source reads again from the last commit.
	redelivery string
	// describe is the part of its status that follows from the config.
	describe PipelineStatus
	source   pipeline.Source
	// lag is the collector of its consumer-group lag (Kafka sources), else nil.
	lag *observe.LagCollector
}

// unitOf builds one enabled pipeline with a registry of its own: its metric families, and
// its consumer-group lag collector for a Kafka source.
func (w *wiring) unitOf(p config.Pipeline) (*unit, error) {
	reg := prometheus.NewRegistry()
	pw := *w // the same config, REST clients and logger; this pipeline's metrics
	pw.metrics = newMetricSets(reg)
	bp, err := pw.pipeline(p)
	if err != nil {
		return nil, fmt.Errorf("pipeline %q: %w", p.Name, err)
	}
	if k, ok := bp.source.(*source.Kafka); ok {
		conn, err := w.kafkaConn(p.Source.Connection)
		if err != nil {
			return nil, fmt.Errorf("pipeline %q: %w", p.Name, err)
		}
		bp.lag = observe.NewLagCollector(observe.LagOptions{Conn: conn, Interval: p.Source.LagInterval,
			Groups: []observe.GroupTopics{{Pipeline: p.Name, GroupID: p.Source.GroupID, Topics: p.Source.Topics, Owns: k.Owns}}},
			w.log.With("kafka", p.Source.Connection))
	}
	return newUnit(bp, specOf(w.cfg, p), reg), nil
}

// wiring turns a validated config into components: the one place that knows both the config
// structs and the component constructors.
type wiring struct {
	cfg     *config.Config
	version string
	log     *slog.Logger
	metrics *metricSets
	// rest caches one REST client per stream-sea connection name.
	rest map[string]*streamsea.Client
}

func newWiring(cfg *config.Config, version string, logger *slog.Logger) *wiring {
	return &wiring{cfg: cfg, version: version, log: logger, rest: map[string]*streamsea.Client{}}
}

func (w *wiring) pipeline(p config.Pipeline) (*builtPipeline, error) {
	logger := w.log // every component adds its own pipeline attribute
	retry := backoff.Policy{Initial: p.Retry.Initial, Max: p.Retry.Max}
	opts := pipeline.Options{
		Name:            p.Name,
		BatchSize:       p.Batch.Size,
		BatchBytes:      p.Batch.Bytes,
		Linger:          p.Batch.Linger,
		ShutdownTimeout: w.cfg.Bridge.ShutdownTimeout,
		Retry:           retry,
		Logger:          logger,
		Metrics:         w.metrics.pipeline,
	}
	var err error
	switch p.Source.Type {
	case config.EndpointStreamsea:
		opts.Direction = pipeline.DirectionStreamSeaToKafka
		opts.Source, err = w.streamseaSource(p, logger)
	case config.EndpointKafka:
		opts.Direction = pipeline.DirectionKafkaToStreamSea
		opts.Source, err = w.kafkaSource(p, logger)
	default:
		err = fmt.Errorf("source.type %q is not supported", p.Source.Type)
	}
	if err != nil {
		return nil, err
	}
	switch p.Sink.Type {
	case config.EndpointKafka:
		opts.Sink, err = w.kafkaSink(p, logger)
	case config.EndpointStreamsea:
		opts.Sink, err = w.streamseaSink(p, logger)
		opts.MaxInFlightWrites = p.Sink.MaxInFlightRequests
	default:
		err = fmt.Errorf("sink.type %q is not supported", p.Sink.Type)
	}
	if err != nil {
		return nil, err
	}
	m, err := mapping.New(p.Mapping.Options())
	if err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	if !m.Identity() {
		opts.Mapper = m
	}
	bp := &builtPipeline{name: p.Name, describe: describe(w.cfg, p), source: opts.Source}
	if p.Source.Type == config.EndpointKafka {
		bp.redelivery = "they are read again from the last committed offset"
	}
	switch p.DeadLetter.Policy {
	case config.PolicyDLQ:
		conn, err := w.kafkaConn(p.DeadLetter.Connection)
		if err != nil {
			return nil, fmt.Errorf("dead_letter: %w", err)
		}
		dl, err := sink.NewDeadLetter(sink.DeadLetterOptions{
			Pipeline: p.Name, Conn: conn, Topic: p.DeadLetter.Topic, InstanceID: w.cfg.Bridge.InstanceID,
			MaxBytes: int64(p.DeadLetter.MaxBytes),
		}, logger, w.metrics.kafkaSink)
		if err != nil {
			return nil, fmt.Errorf("dead_letter: %w", err)
		}
		opts.DeadLetter = dl
	case config.PolicyDrop:
		opts.OnPoison = pipeline.OnPoisonDrop
	default:
		opts.OnPoison = pipeline.OnPoisonStop
	}
	if bp.runner, err = pipeline.NewRunner(opts); err != nil {
		return nil, err
	}
	return bp, nil
}

func (w *wiring) streamseaSource(p config.Pipeline, logger *slog.Logger) (pipeline.Source, error) {
	c, err := w.streamseaConn(p.Source.Connection)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	subs := make([]streamsea.Subscription, len(p.Source.Streams))
	for i, s := range p.Source.Streams {
		subs[i] = streamsea.Subscription{Stream: s, GroupID: p.Source.GroupID}
	}
	opts, err := StreamseaSubscriber(w.cfg, p.Source.Connection, subs)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	// At a stop, the websocket's closing handshake (reading what the server sent until it
	// answers the close frame) takes a quarter of the shutdown budget at most, and no more
	// than the subscriber's default: a server that answers does so as soon as it has written
	// what it had sent; the rest of the budget writes what was read.
	opts.CloseWait = min(streamsea.DefaultCloseWait, w.cfg.Bridge.ShutdownTimeout/4)
	src, err := source.NewStreamSea(source.StreamSeaOptions{
		Pipeline: p.Name, Subscriber: opts, MaxInFlight: p.Source.MaxInFlight,
		MaxInFlightBytes: int64(p.Source.MaxInFlightBytes),
	}, logger, w.metrics.streamseaSrc)
	if err != nil || !p.Spool.Enabled() {
		return src, err
	}
	return source.NewSpooledStreamSea(src, source.SpooledStreamSeaOptions{
		Pipeline: p.Name,
		Spool: spool.Options{
			Dir: p.Spool.Dir, MaxBytes: p.Spool.MaxBytes, MaxAge: p.Spool.MaxAge,
			WhenFull: spool.WhenFull(p.Spool.WhenFull), Fsync: spool.Fsync(p.Spool.Fsync),
			FsyncInterval: p.Spool.FsyncInterval, MaxRecordBytes: c.MaxFrameBytes + spoolRecordOverhead,
		},
		Retry: backoff.Policy{Initial: p.Retry.Initial, Max: p.Retry.Max},
		// Half the shutdown budget drains the spool; the other half writes what was read.
		DrainFor: w.cfg.Bridge.ShutdownTimeout / 2,
	}, logger, w.metrics.spool), nil
}

// spoolRecordOverhead bounds what a spooled message adds to its payload: its stream name and
// receive time.
const spoolRecordOverhead = 1 << 10

func (w *wiring) kafkaSource(p config.Pipeline, logger *slog.Logger) (pipeline.Source, error) {
	conn, err := w.kafkaConn(p.Source.Connection)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	return source.NewKafka(source.KafkaOptions{
		Pipeline: p.Name, Conn: conn, Topics: p.Source.Topics, GroupID: p.Source.GroupID,
		StartOffset: p.Source.StartOffset, CommitInterval: p.Source.CommitInterval,
		MinBytes: p.Source.MinBytes, MaxBytes: p.Source.MaxBytes, MaxWait: p.Source.MaxWait,
		MaxInFlight: p.Source.MaxInFlight, MaxInFlightBytes: int64(p.Source.MaxInFlightBytes),
		HeartbeatInterval: p.Source.HeartbeatInterval,
		SessionTimeout:    p.Source.SessionTimeout, RebalanceTimeout: p.Source.RebalanceTimeout,
		JoinGroupBackoff: p.Source.JoinGroupBackoff,
	}, logger, w.metrics.kafkaSrc)
}

func (w *wiring) kafkaSink(p config.Pipeline, logger *slog.Logger) (pipeline.Sink, error) {
	conn, err := w.kafkaConn(p.Sink.Connection)
	if err != nil {
		return nil, fmt.Errorf("sink: %w", err)
	}
	return sink.NewKafka(sink.KafkaOptions{
		Pipeline: p.Name, Conn: conn, Topic: p.Sink.Topic, RequiredAcks: p.Sink.Acks,
		Compression: p.Sink.Compression, Partitioner: p.Sink.Partitioner, BatchSize: p.Sink.BatchSize, BatchBytes: int64(p.Sink.BatchBytes),
		BatchTimeout: p.Sink.BatchTimeout, WriteTimeout: p.Sink.WriteTimeout, MaxAttempts: p.Sink.MaxAttempts,
		InstanceID: w.cfg.Bridge.InstanceID, AddHeaders: p.Sink.Headers,
	}, logger, w.metrics.kafkaSink)
}

func (w *wiring) streamseaSink(p config.Pipeline, logger *slog.Logger) (pipeline.Sink, error) {
	client, err := w.restClient(p.Sink.Connection)
	if err != nil {
		return nil, fmt.Errorf("sink: %w", err)
	}
	return sink.NewStreamSea(sink.StreamSeaOptions{
		Pipeline: p.Name, Client: client, Stream: p.Sink.Stream, Schema: p.Sink.Schema,
		OnSchemaConflict: p.Sink.OnSchemaConflict, Validate: p.Sink.Validate && p.Sink.Schema != nil,
	}, logger, w.metrics.streamseaSink)
}

// restClient returns the shared REST client of a stream-sea connection.
func (w *wiring) restClient(name string) (*streamsea.Client, error) {
	if c, ok := w.rest[name]; ok {
		return c, nil
	}
	client, err := StreamseaClient(w.cfg, name, w.version)
	if err != nil {
		return nil, err
	}
	w.rest[name] = client
	return client, nil
}

func (w *wiring) streamseaConn(name string) (config.StreamseaConnection, error) {
	c, ok := w.cfg.Streamsea[name]
	if !ok {
		return c, fmt.Errorf("no stream-sea connection %q", name)
	}
	return c, nil
}

func (w *wiring) kafkaConn(name string) (kafkautil.Conn, error) { return KafkaConn(w.cfg, name) }

// tlsConfig builds a *tls.Config from the config's TLS table; nil when TLS is off.
func tlsConfig(t config.TLS) (*tls.Config, error) {
	if !t.Enabled {
		return nil, nil
	}
	return streamsea.TLSConfig(t.CAFile, t.CertFile, t.KeyFile, t.InsecureSkipVerify)
}

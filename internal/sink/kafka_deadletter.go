package sink

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/seabridge/seabridge/internal/kafkautil"
	"github.com/seabridge/seabridge/internal/pipeline"
)

// Headers added to dead-letter records, after the original headers.
const (
	HeaderError           = "seabridge-error"
	HeaderPipeline        = "seabridge-pipeline"
	HeaderSourceTopic     = "seabridge-source-topic"
	HeaderSourcePartition = "seabridge-source-partition"
	HeaderSourceOffset    = "seabridge-source-offset"
	HeaderFailedAt        = "seabridge-failed-at"
)

// DeadLetterOptions configures a dead-letter writer.
type DeadLetterOptions struct {
	Pipeline   string
	Conn       kafkautil.Conn
	Topic      string
	InstanceID string
}

var _ pipeline.DeadLetterConnector = (*DeadLetter)(nil)

// DeadLetter writes messages that cannot be delivered to a Kafka topic, with acks=all, keeping
// their key, value and headers and adding headers that say why and where from. Connect, Close
// and DeadLetter must not be called concurrently.
type DeadLetter struct {
	pipeline string
	sink     *Kafka
	now      func() time.Time
	batch    []*pipeline.Message
}

// NewDeadLetter validates opts and returns an unconnected writer. m may be nil.
func NewDeadLetter(opts DeadLetterOptions, logger *slog.Logger, m *KafkaSinkMetrics) (*DeadLetter, error) {
	if opts.Topic == "" {
		return nil, fmt.Errorf("dead-letter writer %q: no topic", opts.Pipeline)
	}
	if m == nil {
		m = NewKafkaSinkMetrics(nil)
	}
	sink, err := newKafka(KafkaOptions{
		Pipeline:     opts.Pipeline,
		Conn:         opts.Conn,
		Topic:        opts.Topic,
		RequiredAcks: "all",
		InstanceID:   opts.InstanceID,
		AddHeaders:   true,
	}, logger.With("component", "kafka-dead-letter"), m.forDeadLetter(opts.Pipeline))
	if err != nil {
		return nil, err
	}
	return &DeadLetter{pipeline: opts.Pipeline, sink: sink, now: time.Now}, nil
}

// Connect checks the cluster and that the dead-letter topic exists; both failures for bad
// credentials and a missing topic are fatal (pipeline.ErrFatal).
func (d *DeadLetter) Connect(ctx context.Context) error { return d.sink.Connect(ctx) }

// Close closes the writer; it is idempotent.
func (d *DeadLetter) Close(ctx context.Context) error { return d.sink.Close(ctx) }

// DeadLetter writes msgs[i] with reasons[i] and returns nil once all are acknowledged. Errors
// are those of Kafka.Write: a *pipeline.PoisonError names records the dead-letter topic rejects
// (too large), anything else means none may be assumed written.
func (d *DeadLetter) DeadLetter(ctx context.Context, msgs []*pipeline.Message, reasons []error) error {
	if len(msgs) != len(reasons) {
		return fmt.Errorf("dead-letter writer %q: %d messages but %d reasons", d.pipeline, len(msgs), len(reasons))
	}
	failedAt := []byte(d.now().UTC().Format(time.RFC3339))
	d.batch = d.batch[:0]
	for i, m := range msgs {
		d.batch = append(d.batch, d.record(m, reasons[i], failedAt))
	}
	return d.sink.Write(ctx, d.batch)
}

// record builds the dead-letter message; the instance, received-at and source-stream headers
// are added by the sink.
func (d *DeadLetter) record(m *pipeline.Message, reason error, failedAt []byte) *pipeline.Message {
	headers := make([]pipeline.Header, len(m.Headers), len(m.Headers)+6)
	copy(headers, m.Headers)
	text := "unknown"
	if reason != nil {
		text = reason.Error()
	}
	headers = append(headers,
		pipeline.Header{Key: HeaderError, Value: []byte(text)},
		pipeline.Header{Key: HeaderPipeline, Value: []byte(d.pipeline)},
	)
	if m.Topic != "" {
		headers = append(headers,
			pipeline.Header{Key: HeaderSourceTopic, Value: []byte(m.Topic)},
			pipeline.Header{Key: HeaderSourcePartition, Value: strconv.AppendInt(nil, int64(m.Partition), 10)},
			pipeline.Header{Key: HeaderSourceOffset, Value: strconv.AppendInt(nil, m.Offset, 10)},
		)
	}
	headers = append(headers, pipeline.Header{Key: HeaderFailedAt, Value: failedAt})
	return &pipeline.Message{
		Key:        m.Key,
		Value:      m.Value,
		Headers:    headers,
		Stream:     m.Stream,
		ReceivedAt: m.ReceivedAt,
		Time:       m.Time,
	}
}

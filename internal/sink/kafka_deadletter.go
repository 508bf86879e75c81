package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
	// HeaderValueOmitted marks a dead-letter record written without the message's value,
	// because the record with it was too large for the dead-letter topic; its value is the
	// size of the omitted value in bytes.
	HeaderValueOmitted = "seabridge-value-omitted"
	// HeaderKeyOmitted and HeaderHeadersOmitted mark a record that was too large even without
	// its value: the key (its size in bytes) and the original headers (their number) are
	// omitted too, and the error text is cut to fit.
	HeaderKeyOmitted     = "seabridge-key-omitted"
	HeaderHeadersOmitted = "seabridge-headers-omitted"
)

// DefaultDeadLetterMaxBytes is the largest dead-letter record written whole when
// DeadLetterOptions.MaxBytes is 0: Kafka's default max.message.bytes.
const DefaultDeadLetterMaxBytes = 1 << 20

// DeadLetterOptions configures a dead-letter writer.
type DeadLetterOptions struct {
	Pipeline   string
	Conn       kafkautil.Conn
	Topic      string
	InstanceID string
	// MaxBytes bounds the size of one dead-letter record as Kafka counts it (key, value and
	// headers); larger ones are written reduced (see DeadLetter). Default 1 MiB.
	MaxBytes int64
}

var _ pipeline.DeadLetterConnector = (*DeadLetter)(nil)

// DeadLetter writes messages that cannot be delivered to a Kafka topic, with acks=all, keeping
// their key, value and headers and adding headers that say why and where from. Connect, Close
// and DeadLetter must not be called concurrently.
//
// No message is refused for good because of its size or content: a record larger than
// MaxBytes, or one the topic refuses for its size or content (the topic's max.message.bytes
// is below MaxBytes, an invalid timestamp), is written reduced instead, first without its
// value (HeaderValueOmitted), then, if that is still refused, also without its key and
// original headers and with the error text cut (HeaderKeyOmitted, HeaderHeadersOmitted), with
// the broker's timestamp. Each reduced record is counted in
// seabridge_kafka_dead_letter_values_omitted_total and logged.
//
// Errors, and what the runner does with them:
//   - a reduced record the topic still refuses, rejected credentials, or a produce the cluster
//     refuses for the writer's settings (unsupported version, a topic policy): wrapped with
//     pipeline.ErrFatal, the pipeline stops;
//   - anything else (the broker unreachable, timeouts, leader changes): transient, the runner
//     retries with backoff. Records written before the failure may be written again.
type DeadLetter struct {
	pipeline string
	sink     *Kafka
	maxBytes int64
	logger   *slog.Logger
	omitted  prometheus.Counter
	now      func() time.Time
}

// NewDeadLetter validates opts and returns an unconnected writer. m may be nil.
func NewDeadLetter(opts DeadLetterOptions, logger *slog.Logger, m *KafkaSinkMetrics) (*DeadLetter, error) {
	if opts.Topic == "" {
		return nil, fmt.Errorf("dead-letter writer %q: no topic", opts.Pipeline)
	}
	if opts.MaxBytes < 0 {
		return nil, fmt.Errorf("dead-letter writer %q: negative max bytes %d", opts.Pipeline, opts.MaxBytes)
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = DefaultDeadLetterMaxBytes
	}
	if m == nil {
		m = NewKafkaSinkMetrics(nil)
	}
	logger = logger.With("component", "kafka-dead-letter")
	sink, err := newKafka(KafkaOptions{
		Pipeline:     opts.Pipeline,
		Conn:         opts.Conn,
		Topic:        opts.Topic,
		RequiredAcks: "all",
		BatchBytes:   opts.MaxBytes,
		InstanceID:   opts.InstanceID,
		AddHeaders:   true,
	}, logger, m.forDeadLetter(opts.Pipeline))
	if err != nil {
		return nil, err
	}
	return &DeadLetter{
		pipeline: opts.Pipeline, sink: sink, maxBytes: opts.MaxBytes, now: time.Now,
		logger: logger.With("pipeline", opts.Pipeline), omitted: m.deadLetterOmitted.WithLabelValues(opts.Pipeline),
	}, nil
}

// Connect checks the cluster and that the dead-letter topic exists; both failures for bad
// credentials and a missing topic are fatal (pipeline.ErrFatal).
func (d *DeadLetter) Connect(ctx context.Context) error { return d.sink.Connect(ctx) }

// Close closes the writer, giving up on a write still in flight when ctx ends (see
// Kafka.Close); it is idempotent.
func (d *DeadLetter) Close(ctx context.Context) error { return d.sink.Close(ctx) }

// The forms of a dead-letter record, from whole to smallest.
const (
	formWhole   = iota
	formNoValue // value omitted
	formBare    // value, key and original headers omitted, error text cut to fit
)

// pendingRecord is one message to dead-letter and the form it is tried in.
type pendingRecord struct {
	msg    *pipeline.Message
	reason error
	form   int
}

// DeadLetter writes msgs[i] with reasons[i] and returns nil once all are acknowledged, each
// whole or reduced (see DeadLetter). Errors wrapping pipeline.ErrFatal cannot be fixed by
// retrying; any other error is transient.
func (d *DeadLetter) DeadLetter(ctx context.Context, msgs []*pipeline.Message, reasons []error) error {
	if len(msgs) != len(reasons) {
		return fmt.Errorf("dead-letter writer %q: %d messages but %d reasons", d.pipeline, len(msgs), len(reasons))
	}
	failedAt := []byte(d.now().UTC().Format(time.RFC3339))
	pending := make([]pendingRecord, len(msgs))
	for i, m := range msgs {
		pending[i] = pendingRecord{msg: m, reason: reasons[i], form: d.fittingForm(m, reasons[i], failedAt)}
	}
	for len(pending) > 0 {
		batch := make([]*pipeline.Message, len(pending))
		for i, p := range pending {
			batch[i] = d.record(p, failedAt)
		}
		err := d.sink.Write(ctx, batch)
		var refused *pipeline.PoisonError
		if err != nil && !errors.As(err, &refused) {
			return d.classify(err)
		}
		d.countReduced(pending, refused)
		if pending, err = d.reduceRefused(pending, refused); err != nil {
			return err
		}
	}
	return nil
}

// fittingForm is the largest form of the record for m that is at most maxBytes as the sink
// counts it.
func (d *DeadLetter) fittingForm(m *pipeline.Message, reason error, failedAt []byte) int {
	for form := formWhole; form < formBare; form++ {
		rec := d.sink.record(d.sink.opts.Topic, d.record(pendingRecord{msg: m, reason: reason, form: form}, failedAt))
		if recordSize(&rec) <= d.maxBytes {
			return form
		}
	}
	return formBare
}

// countReduced counts and logs the records written in a reduced form: those of pending that
// refused does not name.
func (d *DeadLetter) countReduced(pending []pendingRecord, refused *pipeline.PoisonError) {
	for i, p := range pending {
		if _, bad := refusedAt(refused, i); bad || p.form == formWhole {
			continue
		}
		d.omitted.Inc()
		d.logger.Warn("dead-letter record written without the message's value: too large for the dead-letter topic",
			"message", p.msg.Origin(), "value_bytes", len(p.msg.Value), "key_and_headers_omitted", p.form == formBare)
	}
}

// reduceRefused returns the records refused lists, each in its next smaller form. A refusal
// that a smaller record cannot fix, or of a record already in its smallest form, is fatal.
func (d *DeadLetter) reduceRefused(pending []pendingRecord, refused *pipeline.PoisonError) ([]pendingRecord, error) {
	if refused == nil {
		return nil, nil
	}
	var next []pendingRecord
	for i, p := range pending {
		why, bad := refusedAt(refused, i)
		if !bad {
			continue
		}
		if errors.Is(why, kafkautil.ErrTopicMissing) || p.form == formBare {
			return nil, fmt.Errorf("%w: dead-letter writer %q: topic %q refuses the record of %s (%s, %d bytes of value): %w",
				pipeline.ErrFatal, d.pipeline, d.sink.opts.Topic, p.msg.Origin(), formName(p.form), len(p.msg.Value), why)
		}
		p.form++
		next = append(next, p)
	}
	return next, nil
}

func refusedAt(refused *pipeline.PoisonError, i int) (error, bool) {
	if refused == nil {
		return nil, false
	}
	why, bad := refused.Errs[i]
	return why, bad
}

// classify marks as fatal the errors of a whole write that retrying cannot fix.
func (d *DeadLetter) classify(err error) error {
	if errors.Is(err, pipeline.ErrFatal) || !isSettingsRefusal(err) {
		return err
	}
	return fmt.Errorf("%w: dead-letter writer %q: %w", pipeline.ErrFatal, d.pipeline, err)
}

func formName(form int) string {
	switch form {
	case formWhole:
		return "whole"
	case formNoValue:
		return "without its value"
	default:
		return "without value, key and headers"
	}
}

// bareErrorBytes bounds the error text of a record in formBare.
const bareErrorBytes = 1024

// record builds the dead-letter message of p in its form; the instance, received-at and
// source-stream headers are added by the sink.
func (d *DeadLetter) record(p pendingRecord, failedAt []byte) *pipeline.Message {
	m := p.msg
	text := "unknown"
	if p.reason != nil {
		text = p.reason.Error()
	}
	out := &pipeline.Message{Key: m.Key, Value: m.Value, Stream: m.Stream, ReceivedAt: m.ReceivedAt, Time: m.Time}
	headers := make([]pipeline.Header, 0, len(m.Headers)+9)
	switch p.form {
	case formWhole:
		headers = append(headers, m.Headers...)
	case formNoValue:
		out.Value = nil
		headers = append(headers, m.Headers...)
	case formBare:
		out.Key, out.Value, out.Time = nil, nil, time.Time{}
		if len(text) > bareErrorBytes {
			text = text[:bareErrorBytes]
		}
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
	if p.form >= formNoValue {
		headers = append(headers, pipeline.Header{Key: HeaderValueOmitted, Value: strconv.AppendInt(nil, int64(len(m.Value)), 10)})
	}
	if p.form == formBare {
		headers = append(headers,
			pipeline.Header{Key: HeaderKeyOmitted, Value: strconv.AppendInt(nil, int64(len(m.Key)), 10)},
			pipeline.Header{Key: HeaderHeadersOmitted, Value: strconv.AppendInt(nil, int64(len(m.Headers)), 10)},
		)
	}
	out.Headers = headers
	return out
}

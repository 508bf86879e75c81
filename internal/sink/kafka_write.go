package sink

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/seabridge/seabridge/internal/kafkautil"
	"github.com/seabridge/seabridge/internal/pipeline"
)

// Write produces batch and waits for the acks. It returns nil when every record is
// acknowledged; a *pipeline.PoisonError when the records it names can never be written (too
// large, invalid, or routed to a topic that stayed missing over several Writes) and all the
// others were written; an error wrapping pipeline.ErrFatal on authentication or authorization
// failure; pipeline.ErrNotConnected before Connect; any other error is transient: the batch is
// not all written, and the runner writes it again.
//
// When some records of a batch were acknowledged and others failed, the sink remembers which:
// a Write of the same batch again (the same messages, as the runner retries after a transient
// error) produces only those not yet acknowledged, so that a partial failure duplicates
// nothing. Records retried that way land after the records of their partition that did get
// through, as they would on a whole retry.
func (k *Kafka) Write(ctx context.Context, batch []*pipeline.Message) error {
	return k.writeBatch(ctx, batch, false)
}

// WritePrefix is Write that writes nothing after the first message that can never be written
// (pipeline.PrefixWriter): the records before it are produced, the *pipeline.PoisonError names
// it. The sink finds such a message before writing (no topic, a routed topic missing, larger
// than batch_bytes), except when the broker itself refuses a record that passed those checks:
// later records of the batch that shared its produce request may then have been written.
func (k *Kafka) WritePrefix(ctx context.Context, batch []*pipeline.Message) error {
	return k.writeBatch(ctx, batch, true)
}

func (k *Kafka) writeBatch(ctx context.Context, batch []*pipeline.Message, prefix bool) error {
	if k.writer == nil {
		return fmt.Errorf("kafka sink %q: %w", k.opts.Pipeline, pipeline.ErrNotConnected)
	}
	start := time.Now()
	k.resume(batch)
	k.attempt = writeAttempt{}
	err := k.write(ctx, batch, prefix)
	k.metrics.duration.Observe(time.Since(start).Seconds())
	k.metrics.written.Add(float64(k.attempt.written))
	k.metrics.errors.Add(float64(k.attempt.failed))
	var poison *pipeline.PoisonError
	switch {
	case err == nil, errors.As(err, &poison):
		k.forget()
		return err
	case errors.Is(err, pipeline.ErrFatal):
		k.forget()
	}
	return fmt.Errorf("kafka sink %q: %w", k.opts.Pipeline, err)
}

// writeAttempt counts the records of one Write: acknowledged, and failed (poison included).
type writeAttempt struct {
	written, failed int
}

// resume keeps what is known of batch when it is the batch of the previous Write (the same
// messages in the same order), and starts afresh otherwise.
func (k *Kafka) resume(batch []*pipeline.Message) {
	same := len(batch) == len(k.pending)
	for i := 0; same && i < len(batch); i++ {
		same = batch[i] == k.pending[i]
	}
	if same {
		return
	}
	k.pending = append(k.pending[:0], batch...)
	k.acked = append(k.acked[:0], make([]bool, len(batch))...)
}

// forget drops the batch state once the batch is settled.
func (k *Kafka) forget() {
	clear(k.pending)
	k.pending, k.acked = k.pending[:0], k.acked[:0]
}

// ack records that the record of batch index i is acknowledged.
func (k *Kafka) ack(i int) {
	k.acked[i] = true
	k.attempt.written++
}

func (k *Kafka) write(ctx context.Context, batch []*pipeline.Message, prefix bool) error {
	k.writes++
	poison, err := k.prepare(ctx, batch, prefix)
	if err != nil {
		for _, done := range k.acked {
			if !done {
				k.attempt.failed++
			}
		}
		return err
	}
	if len(k.records) > 0 {
		werr := k.writer.WriteMessages(ctx, k.records...)
		if poison, err = k.settle(ctx, werr, poison, prefix); err != nil {
			return err
		}
	}
	if len(poison) > 0 {
		k.attempt.failed += len(poison)
		return &pipeline.PoisonError{Errs: poison}
	}
	return nil
}

// prepare fills k.records and k.index with the records to write (those not acknowledged by an
// earlier Write of the same batch), and returns the messages rejected before writing. With
// prefix it stops at the first rejected message.
func (k *Kafka) prepare(ctx context.Context, batch []*pipeline.Message, prefix bool) (map[int]error, error) {
	k.records, k.index = k.records[:0], k.index[:0]
	var poison map[int]error
	reject := func(i int, err error) {
		if poison == nil {
			poison = make(map[int]error)
		}
		poison[i] = err
	}
	for i, m := range batch {
		if prefix && poison != nil {
			break
		}
		if k.acked[i] {
			continue
		}
		topic := m.TargetTopic
		if topic == "" {
			topic = k.opts.Topic
		}
		if topic == "" {
			reject(i, ErrNoTopic)
			continue
		}
		exists, err := k.topicExists(ctx, topic)
		if err != nil {
			return nil, err
		}
		if !exists {
			reject(i, fmt.Errorf("%w: %q", kafkautil.ErrTopicMissing, topic))
			continue
		}
		rec := k.record(topic, m)
		if size := recordSize(&rec); size > k.opts.BatchBytes {
			reject(i, fmt.Errorf("%w: %d > %d bytes", ErrTooLarge, size, k.opts.BatchBytes))
			continue
		}
		k.records = append(k.records, rec)
		k.index = append(k.index, i)
	}
	return poison, nil
}

// topicExists reports whether a routed topic exists, checking a topic not known to exist at
// most once per Write. A topic found missing fails the Write as transient until
// missingTopicChecks consecutive Writes found it missing; it then reports false.
func (k *Kafka) topicExists(ctx context.Context, topic string) (bool, error) {
	st, known := k.topics[topic]
	if known && st.misses == 0 {
		return true, nil
	}
	if known && st.checkedIn == k.writes {
		return false, nil
	}
	err := kafkautil.CheckTopics(ctx, k.client, topic)
	switch {
	case err == nil:
		k.remember(topic, topicState{})
		return true, nil
	case errors.Is(err, kafkautil.ErrAuth):
		return false, fmt.Errorf("%w: %w", pipeline.ErrFatal, err)
	case !errors.Is(err, kafkautil.ErrTopicMissing):
		return false, err
	}
	st = topicState{misses: st.misses + 1, checkedIn: k.writes}
	k.remember(topic, st)
	if st.misses >= missingTopicChecks {
		return false, nil
	}
	return false, err
}

// remember records what is known of topic. The map is bounded: routing on a message field
// with many distinct values must not grow it for as long as the daemon runs, so past
// maxKnownTopics it starts again from the default topic (forgotten topics are checked anew
// when they are next written to).
func (k *Kafka) remember(topic string, st topicState) {
	if _, known := k.topics[topic]; !known && len(k.topics) >= maxKnownTopics {
		def, hasDefault := k.topics[k.opts.Topic]
		clear(k.topics)
		if hasDefault {
			k.topics[k.opts.Topic] = def
		}
	}
	k.topics[topic] = st
}

func (k *Kafka) record(topic string, m *pipeline.Message) kafka.Message {
	n := len(m.Headers)
	if k.opts.AddHeaders {
		n += 3
	}
	var headers []kafka.Header
	if n > 0 {
		headers = make([]kafka.Header, 0, n)
		for _, h := range m.Headers {
			headers = append(headers, kafka.Header{Key: h.Key, Value: h.Value})
		}
	}
	if k.opts.AddHeaders {
		if m.Stream != "" {
			if m.Stream != k.stream {
				k.stream, k.streamBytes = m.Stream, []byte(m.Stream)
			}
			headers = append(headers, kafka.Header{Key: HeaderSourceStream, Value: k.streamBytes})
		}
		if !m.ReceivedAt.IsZero() {
			headers = append(headers, kafka.Header{Key: HeaderReceivedAt, Value: m.ReceivedAt.AppendFormat(nil, time.RFC3339Nano)})
		}
		headers = append(headers, kafka.Header{Key: HeaderInstance, Value: k.instance})
	}
	return kafka.Message{Topic: topic, Key: m.Key, Value: m.Value, Headers: headers, Time: m.Time}
}

// recordSize bounds from above kafka-go's own size accounting of a record, which it compares
// with BatchBytes before writing anything.
func recordSize(r *kafka.Message) int64 {
	n := int64(4+1+1+8) + int64(4+len(r.Key)) + int64(4+len(r.Value)) + 5
	for _, h := range r.Headers {
		n += int64(5+len(h.Key)) + int64(5+len(h.Value))
	}
	return n
}

// settle maps the result of WriteMessages and records which records were acknowledged.
// Records rejected for a reason that is permanent for them are written again one by one to
// tell the bad ones from the good ones that shared their produce request. It returns poison
// (which may be nil) with the bad ones added, and an error when some records failed for a
// transient reason (the others are recorded as acknowledged). With prefix it stops at the first
// bad one: the records after it are not written again.
func (k *Kafka) settle(ctx context.Context, werr error, poison map[int]error, prefix bool) (map[int]error, error) {
	if werr == nil {
		for _, i := range k.index {
			k.ack(i)
		}
		return poison, nil
	}
	var perRecord kafka.WriteErrors
	if !errors.As(werr, &perRecord) || len(perRecord) != len(k.records) {
		k.attempt.failed += len(k.records)
		return poison, k.classify(werr)
	}
	var retry []int
	var transient error
	failed := 0
	for j, err := range perRecord {
		switch {
		case err == nil:
			k.ack(k.index[j])
		case isPermanent(err):
			retry = append(retry, j)
		default:
			failed++
			transient = cmp.Or(transient, err)
		}
	}
retrying:
	for _, j := range retry {
		err := k.writer.WriteMessages(ctx, k.records[j])
		var single kafka.WriteErrors
		if errors.As(err, &single) && len(single) == 1 {
			err = single[0]
		}
		switch {
		case err == nil:
			k.ack(k.index[j])
		case isPermanent(err):
			poison = addPoison(poison, k.index[j], fmt.Errorf("kafka rejected the record: %w", err))
			if prefix {
				break retrying
			}
		default:
			failed++
			transient = cmp.Or(transient, err)
		}
	}
	if transient != nil {
		k.attempt.failed += failed
		return poison, fmt.Errorf("%d of %d record(s) not acknowledged, the others are and will not be written again: %w",
			failed, len(k.records), k.classify(transient))
	}
	return poison, nil
}

// classify wraps auth failures and refusals of the writer's settings (isSettingsRefusal) with
// pipeline.ErrFatal, and forgets routed topics that the cluster no longer knows so that the
// next Write checks them again.
func (k *Kafka) classify(err error) error {
	if kafkautil.IsAuthError(err) {
		return fmt.Errorf("%w: %w: %w", pipeline.ErrFatal, kafkautil.ErrAuth, err)
	}
	if isSettingsRefusal(err) {
		return fmt.Errorf("%w: produce: %w", pipeline.ErrFatal, err)
	}
	if errors.Is(err, kafka.UnknownTopicOrPartition) {
		for _, r := range k.records {
			if r.Topic != k.opts.Topic {
				delete(k.topics, r.Topic)
			}
		}
	}
	return fmt.Errorf("produce: %w", err)
}

// isPermanent reports errors that the same record will always get.
func isPermanent(err error) bool {
	for _, e := range []error{kafka.MessageSizeTooLarge, kafka.InvalidMessage, kafka.InvalidMessageSize,
		kafka.RecordListTooLarge, kafka.InvalidRecord, kafka.InvalidTimestamp} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

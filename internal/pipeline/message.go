package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Header is one Kafka record header, or one metadata entry carried with a stream-sea message.
type Header struct {
	Key   string
	Value []byte
}

// Message is one unit of data moving through a pipeline, in either direction.
//
// Value holds the payload bytes untouched: for stream-sea the JSON object of one delivery, for
// Kafka the record value. Components must not modify a Message after handing it on; a Mapper that
// changes one returns a new Message (Clone and edit).
type Message struct {
	Key     []byte
	Value   []byte
	Headers []Header

	// Origin: where the message was read. Topic/Partition/Offset are set by the Kafka source,
	// Stream by the stream-sea source. ReceivedAt is when the bridge read it.
	Topic      string
	Partition  int
	Offset     int64
	Stream     string
	ReceivedAt time.Time
	// Time is the record timestamp (Kafka) or the delivery time (stream-sea).
	Time time.Time

	// Target: where a sink should write it. Empty means the sink's configured default.
	// The mapping stage sets these for per-message routing.
	TargetTopic  string
	TargetStream string
}

// Clone returns a shallow copy whose Headers slice may be appended to without affecting m.
func (m *Message) Clone() *Message {
	c := *m
	c.Headers = append([]Header(nil), m.Headers...)
	return &c
}

// Origin names where m was read ("topic "t" partition 0 offset 7", "stream "s""), for errors
// and logs.
func (m *Message) Origin() string {
	switch {
	case m.Topic != "":
		return fmt.Sprintf("topic %q partition %d offset %d", m.Topic, m.Partition, m.Offset)
	case m.Stream != "":
		return fmt.Sprintf("stream %q", m.Stream)
	default:
		return "message"
	}
}

// Header returns the value of the first header named key, or nil.
func (m *Message) Header(key string) []byte {
	for _, h := range m.Headers {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}

// AckFunc is called exactly once per message read: err == nil acks (the message is durable at
// the sink, dead-lettered, or deliberately filtered), err != nil nacks (the runner gave up on it;
// the source may redeliver it). It may be called from any goroutine and in any order relative to
// other messages' AckFuncs. The returned error reports a failure to record the ack.
type AckFunc func(ctx context.Context, err error) error

// Source produces messages. Read and Close may be called from different goroutines; Read is
// never called concurrently with itself.
type Source interface {
	// Connect dials the source; ctx bounds the dialing only. A fatal error (bad credentials,
	// invalid configuration) is wrapped with ErrFatal and stops the pipeline.
	Connect(ctx context.Context) error
	// Read blocks until a message is available, ctx is done, or the connection is lost
	// (ErrNotConnected: the runner calls Connect again, with backoff).
	Read(ctx context.Context) (*Message, AckFunc, error)
	// Close releases resources; it is idempotent. Messages read but not yet acked when Close
	// is called follow the source's own delivery rules (see each implementation).
	Close(ctx context.Context) error
}

// BatchSource is a Source that can hand over several messages with one call; the runner calls
// ReadBatch instead of Read when its source implements it. ReadBatch blocks as Read does until
// at least one message is ready, or fails as Read fails (returning 0). It then stores up to
// len(msgs) of the messages that are ready, in the order Read would have returned them, in msgs
// and their AckFuncs in acks (len(acks) >= len(msgs)), and returns how many, without waiting
// for more: a count below len(msgs) means that no more were ready. Each AckFunc keeps the
// contract of Read's. ReadBatch is never called concurrently with itself or with Read.
type BatchSource interface {
	Source
	ReadBatch(ctx context.Context, msgs []*Message, acks []AckFunc) (int, error)
}

// Sink writes messages. Write is never called concurrently with itself.
type Sink interface {
	Connect(ctx context.Context) error
	// Write returns nil only once every message of batch is durable at the destination. A
	// *PoisonError says that some messages can never be written (and are named by index) while
	// all the others were written. Any other error means none of the batch may be assumed
	// written; errors wrapped with ErrFatal stop the pipeline, the rest are retried.
	Write(ctx context.Context, batch []*Message) error
	Close(ctx context.Context) error
}

// Mapper transforms one message into zero or more. An empty result filters the message (it is
// acked). An error makes the message poison: it goes to the dead-letter destination.
// Map must be safe to call from one goroutine at a time and must not block on I/O.
type Mapper interface {
	Map(ctx context.Context, in *Message) ([]*Message, error)
}

var (
	// ErrNotConnected is returned by Read or Write when the connection was lost; the runner
	// reconnects with backoff.
	ErrNotConnected = errors.New("not connected")
	// ErrFatal marks errors that retrying cannot fix (bad credentials, schema conflict).
	ErrFatal = errors.New("fatal")
)

// PoisonError reports the messages of a batch that can never be written. The messages not named
// were written.
type PoisonError struct {
	// Errs maps an index into the batch to the reason that message was rejected.
	Errs map[int]error
}

func (e *PoisonError) Error() string {
	for _, err := range e.Errs {
		return "rejected " + strconv.Itoa(len(e.Errs)) + " message(s), e.g.: " + err.Error()
	}
	return "rejected 0 messages"
}

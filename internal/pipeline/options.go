package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/seabridge/seabridge/internal/backoff"
)

// Directions, used as the direction metric label.
const (
	DirectionStreamSeaToKafka = "streamsea_to_kafka"
	DirectionKafkaToStreamSea = "kafka_to_streamsea"
)

// What a runner without a DeadLetter does with a poison message.
const (
	OnPoisonStop = "stop" // stop the runner with an error naming the message
	OnPoisonDrop = "drop" // log at WARN, count, then ack
)

// Defaults applied by NewRunner to zero Options fields.
const (
	DefaultBatchSize          = 500
	DefaultBatchBytes         = 1 << 20
	DefaultLinger             = 5 * time.Millisecond
	DefaultMaxInFlightBatches = 2
	DefaultMaxInFlightWrites  = 1
	MaxMaxInFlightWrites      = 64
	DefaultShutdownTimeout    = 30 * time.Second
)

// DeadLetter receives the messages that can never be written to the sink, with one reason per
// message. It returns nil only once the messages are durable. A *PoisonError says that the
// messages it names can never be dead-lettered either (the others were): the runner stops
// (ErrDeadLetterRefused). Errors wrapping ErrFatal stop the runner; any other error is
// retried with backoff, with the same messages. It is never called concurrently with itself.
type DeadLetter interface {
	DeadLetter(ctx context.Context, msgs []*Message, reasons []error) error
}

// DeadLetterConnector is implemented by dead-letter destinations with a connection of their
// own. The runner connects one before the sink, with the same retry and fatal-error rules as
// the sink and source, and closes it after the sink. Close must be idempotent.
type DeadLetterConnector interface {
	DeadLetter
	Connect(ctx context.Context) error
	Close(ctx context.Context) error
}

// IntakeStopper is implemented by sources that cannot redeliver what they received (stream-sea
// pushes messages and forgets them). At shutdown the runner calls StopIntake, which must stop
// receiving without dropping what was already received; the runner then reads on, within the
// shutdown budget, until Read returns an error wrapping ErrDrained. StopIntake may be called
// concurrently with Read and more than once.
type IntakeStopper interface {
	StopIntake()
}

// PrefixWriter is implemented by sinks that can stop a write at the first message they can
// never write. WritePrefix is Write, except when the batch holds such messages: it writes the
// messages before the first of them, in order, and none after it, and returns a *PoisonError
// whose lowest index is that first one (it may name later ones too). A sink that cannot tell
// every such message before writing documents which later messages it may still have written.
// A runner whose poison messages stop it (OnPoisonStop without a DeadLetter) writes with
// WritePrefix, so that nothing after a poison message is written; the runner treats every
// message after the first rejected one as unwritten.
type PrefixWriter interface {
	WritePrefix(ctx context.Context, batch []*Message) error
}

// UndeliveredReporter is implemented by sources that can lose messages they received without
// handing them to the runner (the stream-sea source: deliveries still buffered when it is
// closed). Undelivered is the number lost so far; it is final once Close returned. The runner
// reports it in Stats and, when it is not zero after Close, in Run's error. It must be safe for
// concurrent use.
type UndeliveredReporter interface {
	Undelivered() uint64
}

// DurableSource is implemented by sources that keep what they receive on disk until it is
// acked (a stream-sea source with a spool), and so may receive while the sink cannot write.
// When Durable reports true, the runner connects the source before the sink and the
// dead-letter destination, so that it receives while they are still connecting, and the pipeline's readiness needs only the
// source: a pipeline that spools while its sink is down is doing its job. A message it hands
// out and that is nacked stays with it and is handed out again at the next start, so giving up
// on messages at shutdown is no loss: a shutdown budget that runs out, or a write given up on
// at close (ErrWriteAbandoned), is not an error of Run (Stats still counts the nacks).
type DurableSource interface {
	Durable() bool
}

// FailureNotifier is implemented by sources that work in the background after Connect (a
// DurableSource receives while the sink connects) and can fail fatally there, outside Read.
// Failed returns a channel closed once that happened; Failure then returns the error (wrapping
// ErrFatal), and so does Read. The runner stops on it whatever the sink is doing: while the
// sink or the dead-letter destination is still connecting, and while writes are retried.
type FailureNotifier interface {
	Failed() <-chan struct{}
	Failure() error
}

// ConnectionReporter is implemented by sources and sinks that keep a connection up by
// themselves after Connect (the stream-sea source reconnects its websocket internally). The
// runner's Ready includes Connected, so that readiness reports such a connection being down.
// Connected must be safe for concurrent use and must not block.
type ConnectionReporter interface {
	Connected() bool
}

// Options configure one Runner. Source, Sink, Name and Direction are required.
type Options struct {
	Name       string // pipeline name, a metric label
	Direction  string // DirectionStreamSeaToKafka or DirectionKafkaToStreamSea, a metric label
	Source     Source
	Mapper     Mapper     // nil: identity
	Sink       Sink       //
	DeadLetter DeadLetter // nil: OnPoison decides
	OnPoison   string     // with no DeadLetter: OnPoisonStop (default) or OnPoisonDrop

	BatchSize  int           // messages per sink write; default 500
	BatchBytes int           // key+value bytes per sink write; default 1 MiB
	Linger     time.Duration // flush a partial batch at the latest this long after its first message; default 5ms
	// MaxInFlightBatches bounds the batches queued between the reader and the writers, per
	// writer; default 2.
	MaxInFlightBatches int
	// MaxInFlightWrites is how many Sink.Write calls may run at once; default 1. Above 1 the
	// Sink's Write must be safe for concurrent use, and the reader cuts batches per lane:
	// every message of one source partition (the same Topic and Partition) goes to the same
	// lane, and a lane has at most one batch being written, taken in the order it was cut. So
	// a batch never overtakes an earlier batch holding messages of the same partition, and
	// the writes in flight are at most the number of partitions that have messages.
	MaxInFlightWrites int
	// ShutdownTimeout bounds the drain after the Run context is cancelled; default 30s.
	ShutdownTimeout time.Duration
	Retry           backoff.Policy // sink writes, dead-lettering and (re)connects

	Logger  *slog.Logger // nil: discard
	Metrics *Metrics     // nil: unregistered metrics private to the runner
}

func (o Options) withDefaults() Options {
	if o.OnPoison == "" {
		o.OnPoison = OnPoisonStop
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = DefaultBatchBytes
	}
	if o.Linger <= 0 {
		o.Linger = DefaultLinger
	}
	if o.MaxInFlightBatches <= 0 {
		o.MaxInFlightBatches = DefaultMaxInFlightBatches
	}
	if o.MaxInFlightWrites <= 0 {
		o.MaxInFlightWrites = DefaultMaxInFlightWrites
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	return o
}

func (o Options) validate() error {
	switch {
	case o.Name == "":
		return fmt.Errorf("%w: name is empty", ErrInvalidOptions)
	case o.Direction != DirectionStreamSeaToKafka && o.Direction != DirectionKafkaToStreamSea:
		return fmt.Errorf("%w: pipeline %q: direction %q is not %q or %q", ErrInvalidOptions,
			o.Name, o.Direction, DirectionStreamSeaToKafka, DirectionKafkaToStreamSea)
	case o.Source == nil:
		return fmt.Errorf("%w: pipeline %q: no source", ErrInvalidOptions, o.Name)
	case o.Sink == nil:
		return fmt.Errorf("%w: pipeline %q: no sink", ErrInvalidOptions, o.Name)
	case o.MaxInFlightWrites > MaxMaxInFlightWrites:
		return fmt.Errorf("%w: pipeline %q: max in-flight writes %d is above %d", ErrInvalidOptions,
			o.Name, o.MaxInFlightWrites, MaxMaxInFlightWrites)
	case o.OnPoison != OnPoisonStop && o.OnPoison != OnPoisonDrop:
		return fmt.Errorf("%w: pipeline %q: on_poison %q is not %q or %q", ErrInvalidOptions,
			o.Name, o.OnPoison, OnPoisonStop, OnPoisonDrop)
	}
	return nil
}

// Package pipeline holds the message contract shared by every source, mapper and sink, and the
// Runner that moves messages from one Source through an optional Mapper to one Sink with
// retries, backoff, batching, ack bookkeeping and dead-letter routing.
//
// # Runner lifecycle
//
// Run connects the sink, then the source, retrying with backoff (errors wrapping ErrFatal stop
// it); a DurableSource, which keeps what it receives on disk, is connected first (before the
// dead-letter destination too). It then runs a reader goroutine (Read, Map, batch) and
// MaxInFlightWrites writer goroutines (Sink.Write, default one), connected by a queue of at
// most MaxInFlightBatches batches per writer, so reading slows to the pace of the sink. With
// one writer the batches are written in the order they were cut. With several, the reader cuts batches per lane (the
// messages of one source partition, Topic and Partition, always share a lane), and a lane's
// batches are written one at a time, in order: the order of each partition is preserved while
// batches of different lanes are written concurrently and may complete in any order.
//
// The reader flushes a batch when it reaches BatchSize messages or BatchBytes key+value bytes,
// and every lane's batch Linger after the first message that found all lanes empty (Read is
// called with a context that expires then). With a BatchSource it also flushes early: when
// ReadBatch returned fewer messages than asked (nothing more was ready), the batch of every
// lane without a batch queued or being written is flushed at once; the batches of busy lanes
// are flushed as soon as a write ends (the next ReadBatch returns then), so they fill while
// their lane's write is in flight and the linger bounds the wait only under load. A
// mapper error makes the message poison; an empty mapper result acks it at once (filtered); a
// result of N messages acks the source message once all N are written or dead-lettered. Read
// returning ErrNotConnected makes the reader call Source.Connect again, with backoff.
//
// A writer retries a failed Write with the same batch, never skipping or reordering;
// ErrNotConnected makes it call Sink.Connect first (one writer reconnects; the others wait
// for it). A fatal error of one writer stops the others. Between tries (of writes and connects) it
// waits its backoff, or exactly the delay an error implementing RetryDelayer asks for. A *PoisonError acks the messages written
// and routes the named ones, with the mapper's poison, to the DeadLetter (retried until
// durable), or, without one, drops them (OnPoisonDrop) or stops the runner (OnPoisonStop).
//
// A poison message that stops the runner is a barrier: what was read before it is written and
// acked, nothing read after it is written. The reader stops at a mapper's poison message once
// everything before it has been written; the writers write with the sink's WritePrefix (a
// PrefixWriter), which writes nothing after the first message it rejects. With several writers
// this holds per lane, that is per source partition: batches of other partitions may be
// written concurrently.
//
// Every source message is settled exactly once: acked when all its outputs are durable (at
// the sink or the dead-letter destination) or filtered, nacked when the runner gives up on it.
//
// # Errors: what stops, reconnects, dead-letters or retries
//
// The runner decides by an error's class, never by its text. Sources, sinks, mappers and
// dead-letter destinations classify their own errors, so that no permanent failure is retried
// forever:
//
//   - wrapping ErrFatal, from Connect, Read, Write or DeadLetter (rejected credentials or
//     authorization, a missing fixed topic, a schema conflict, an untrusted certificate, a
//     request or setting the server never accepts): Run stops and returns it.
//   - ErrNotConnected from Read or Write: the runner connects that side again, waiting its
//     backoff from the second time in a row.
//   - a mapper error, and a *PoisonError from Write (a message too large, invalid for the
//     destination, routed to a topic or stream that does not exist): those messages are
//     poison, never retried; they are dead-lettered, dropped or stop the runner
//     (ErrPoisonMessage), and the rest of the batch is acked.
//   - a *PoisonError from DeadLetter (messages the destination can take in no form): Run
//     stops (ErrDeadLetterRefused).
//   - any other error is transient (a server unreachable or timing out, 5xx, 429, a leader
//     change): the same operation is retried with backoff, or after the delay a RetryDelayer
//     asks for, forever, without skipping. An unreachable server at Connect is retried the
//     same way; it shows in Ready and the metrics.
//
// # Shutdown
//
// When the Run context is cancelled the reader stops reading (it calls Read no more, even if
// the source has messages ready). A source that implements IntakeStopper (one that cannot
// redeliver) is told to stop receiving, and the reader reads on what it had already received
// until Read reports ErrDrained. The reader hands its partial batch to the writer, which
// writes everything queued; reading and writing share the ShutdownTimeout budget, after which
// their contexts are cancelled. What is still unwritten then is nacked (ErrShutdownTimeout) and Run
// reports it. Finally the source is closed (so that it can commit what was acked), then the
// sink. A source that implements UndeliveredReporter then says how many messages it received
// and never handed over; Run reports those too (ErrUndelivered), and Stats counts them. A
// DurableSource keeps what was nacked and hands it out again at the next start: for it, the
// budget running out and a write given up on at close (ErrWriteAbandoned) are no error of Run.
// No goroutine started by Run outlives it.
//
// A source that works in the background (a FailureNotifier: a DurableSource receives while
// the sink connects) may fail fatally outside Read; the runner stops on that failure at once,
// whether it is still connecting the sink or its writers are retrying, and Run returns it.
//
// Ready, Stats and the metrics may be read concurrently with Run.
package pipeline

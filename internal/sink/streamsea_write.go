package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/streamsea"
)

// batchOverhead is the size of `{"payload":[` and `]}` around the comma-separated payloads.
const batchOverhead = len(`{"payload":[]}`)

var errNotJSONObject = errors.New("payload is not a JSON object")

// Write publishes batch. Consecutive messages with the same target stream are published
// together, as array payloads of at most MaxBatchBytes, in batch order.
//
// Messages that can never be published are reported in a *pipeline.PoisonError, and every
// other message is published: a Value that is not a JSON object, a message that fails local
// validation, or one the server rejects with 400 (a rejected batch is bisected until exactly
// the offending messages are found; the others are still published in order).
//
// Errors that IsRetriable reports (network, timeouts, 5xx, 429) are returned as they are, for
// the runner to retry the whole Write. Some groups of the batch may already have been accepted
// then, and a retried Write publishes them again: delivery is at least once. Rejected
// credentials and other answers that retrying cannot fix are wrapped with pipeline.ErrFatal.
func (s *StreamSea) Write(ctx context.Context, batch []*pipeline.Message) error {
	return s.write(ctx, batch, false)
}

// WritePrefix is Write that publishes nothing after the first message that can never be
// published (pipeline.PrefixWriter): the messages before it are published in order, the
// *pipeline.PoisonError names it, and the batch is not published further.
func (s *StreamSea) WritePrefix(ctx context.Context, batch []*pipeline.Message) error {
	return s.write(ctx, batch, true)
}

// errStopAtPoison ends a WritePrefix at its first poison message.
var errStopAtPoison = errors.New("stopped at the first poison message")

func (s *StreamSea) write(ctx context.Context, batch []*pipeline.Message, prefix bool) error {
	if s.closed.Load() || !s.connected.Load() {
		return fmt.Errorf("stream-sea sink of pipeline %q: %w", s.opts.Pipeline, pipeline.ErrNotConnected)
	}
	sc, _ := s.scratch.Get().(*writeScratch)
	if sc == nil {
		sc = &writeScratch{}
	}
	defer s.scratch.Put(sc)
	sc.prefix = prefix
	validator := s.validator.Load()
	var poison map[int]error
	for start := 0; start < len(batch); {
		stream := s.target(batch[start])
		end := start
		sc.valid = sc.valid[:0]
		for ; end < len(batch) && s.target(batch[end]) == stream; end++ {
			if err := s.check(validator, stream, batch[end].Value); err != nil {
				poison = addPoison(poison, end, err)
				if prefix {
					break
				}
				continue
			}
			sc.valid = append(sc.valid, end)
		}
		err := s.publishGroup(ctx, sc, stream, batch, sc.valid, &poison)
		switch {
		case errors.Is(err, errStopAtPoison):
			return &pipeline.PoisonError{Errs: poison}
		case err != nil:
			return err
		case prefix && len(poison) > 0:
			return &pipeline.PoisonError{Errs: poison}
		}
		start = end
	}
	if len(poison) > 0 {
		return &pipeline.PoisonError{Errs: poison}
	}
	return nil
}

func (s *StreamSea) target(m *pipeline.Message) string {
	if m.TargetStream != "" {
		return m.TargetStream
	}
	return s.opts.Stream
}

// check validates one payload locally: against the schema for the default stream when there is
// a validator, otherwise only as one JSON object.
func (s *StreamSea) check(validator *streamsea.Validator, stream string, value []byte) error {
	var err error
	if validator != nil && stream == s.opts.Stream {
		err = validator.Validate(value)
	} else if !isJSONObject(value) {
		err = errNotJSONObject
	}
	if err == nil {
		return nil
	}
	s.metrics.validationFailures.Inc()
	return fmt.Errorf("stream %q: invalid payload: %w", stream, err)
}

func isJSONObject(v []byte) bool {
	v = bytes.TrimLeft(v, " \t\r\n")
	return len(v) > 0 && v[0] == '{' && json.Valid(v)
}

func addPoison(poison map[int]error, i int, err error) map[int]error {
	if poison == nil {
		poison = map[int]error{}
	}
	poison[i] = err
	return poison
}

// publishGroup publishes batch[idx...] (all for stream) in chunks of at most MaxBatchBytes.
func (s *StreamSea) publishGroup(ctx context.Context, sc *writeScratch, stream string, batch []*pipeline.Message, idx []int, poison *map[int]error) error {
	for len(idx) > 0 {
		n, size := 0, batchOverhead
		for n < len(idx) {
			next := len(batch[idx[n]].Value)
			if n > 0 {
				next++ // the comma
			}
			if n > 0 && size+next > s.opts.MaxBatchBytes {
				break
			}
			size += next
			n++
		}
		if err := s.publish(ctx, sc, stream, batch, idx[:n], poison); err != nil {
			return err
		}
		idx = idx[n:]
	}
	return nil
}

// publish sends batch[idx...] as one request. When the server rejects it as bad, it bisects:
// each half is published in turn (first half first), down to single messages, which are then
// poison. Order among published messages is kept.
func (s *StreamSea) publish(ctx context.Context, sc *writeScratch, stream string, batch []*pipeline.Message, idx []int, poison *map[int]error) error {
	err := s.send(ctx, sc, stream, batch, idx)
	if err == nil {
		return nil
	}
	switch s.classify(stream, err) {
	case publishRejected:
		if len(idx) == 1 || errors.Is(err, streamsea.ErrStreamNotFound) {
			for _, i := range idx {
				*poison = addPoison(*poison, i, fmt.Errorf("stream %q: %w", stream, err))
			}
			if sc.prefix {
				return errStopAtPoison
			}
			return nil
		}
		mid := len(idx) / 2
		if err := s.publish(ctx, sc, stream, batch, idx[:mid], poison); err != nil {
			return err
		}
		return s.publish(ctx, sc, stream, batch, idx[mid:], poison)
	case publishFatalError:
		if errors.Is(err, streamsea.ErrUnauthorized) {
			return s.credentialsError(err)
		}
		return fmt.Errorf("%w: pipeline %q: publish to stream %q: %w", pipeline.ErrFatal, s.opts.Pipeline, stream, err)
	}
	if errors.Is(err, streamsea.ErrStreamNotFound) {
		// The default stream vanished: reconnecting defines its schema again.
		return fmt.Errorf("pipeline %q: stream %q: %w: %w", s.opts.Pipeline, stream, pipeline.ErrNotConnected, err)
	}
	return err
}

// send publishes batch[idx...] as one request and records its metrics.
func (s *StreamSea) send(ctx context.Context, sc *writeScratch, stream string, batch []*pipeline.Message, idx []int) error {
	sc.payloads = sc.payloads[:0]
	for _, i := range idx {
		sc.payloads = append(sc.payloads, batch[i].Value)
	}
	start := time.Now()
	err := s.opts.Client.PublishBatch(ctx, stream, sc.payloads)
	s.metrics.duration.Observe(time.Since(start).Seconds())
	clear(sc.payloads) // do not keep the batch's payloads alive
	if err == nil {
		s.metrics.requests[publishOK].Inc()
		s.metrics.published.Add(float64(len(idx)))
		return nil
	}
	s.metrics.requests[s.classify(stream, err)].Inc()
	return err
}

// classify maps a publish error to its result label:
//   - rejected: the server refused the content (400, 413, 422), or (404) a routed stream that
//     does not exist: retrying the same messages cannot succeed;
//   - fatal_error: credentials refused, or an answer retrying cannot fix (e.g. 405, 3xx);
//   - retriable_error: everything else, which the runner retries (network errors, 5xx, 429,
//     a vanished default stream, cancellation).
func (s *StreamSea) classify(stream string, err error) string {
	apiErr, ok := errors.AsType[*streamsea.APIError](err)
	if !ok || apiErr.Retriable() {
		return publishRetriableError
	}
	switch apiErr.Status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return publishRejected
	case http.StatusNotFound:
		if stream == s.opts.Stream {
			return publishRetriableError
		}
		return publishRejected
	}
	return publishFatalError
}

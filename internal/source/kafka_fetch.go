package source

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/seabridge/seabridge/internal/backoff"
)

const (
	// fetchBatchTimeout bounds the reading of one fetched batch, and a wait for space in the
	// delivery queue restarts it (kafka-go's ReaderConfig.ReadBatchTimeout default).
	fetchBatchTimeout = 10 * time.Second
	// offsetsTimeout bounds the listing of a partition's first and last offsets.
	offsetsTimeout = 10 * time.Second
)

// fetchBackoff paces reconnecting after a failed connect or fetch: waits of 100 ms to 1 s, as
// kafka-go's ReadBackoffMin and ReadBackoffMax defaults, with the jitter of every retry loop.
var fetchBackoff = backoff.Policy{Initial: 200 * time.Millisecond, Max: time.Second}

// errFetchStopped is returned by partitionFetcher.read when deliver refused a message.
var errFetchStopped = errors.New("fetch stopped")

// partitionFetcher reads one partition from its leader with a kafka-go Conn and hands each
// message to deliver in its own goroutine. It does what kafka.Reader does for one partition
// (connect to the leader, seek, fetch batches, reconnect with backoff on a broken connection,
// a leader change or an offset out of range) without kafka.Reader's goroutine, which hands
// every message to FetchMessage over a channel and sets a read deadline and reads the clock
// for each: in a profile of the Kafka source at saturation those hand-offs were about a tenth
// of the bridge's CPU.
type partitionFetcher struct {
	gen  *kafkaGeneration
	part *partitionOffsets
	slab recordSlab
	// held are the messages read from the current batch and not yet registered and queued:
	// they are handed over fetchGroup at a time, and at the end of each batch, so that the
	// generation's and the queue's locks are taken once per group, not once per message.
	held []*kafkaRecord
	// readAt is the ReceivedAt of the messages read next: when the batch being read was
	// fetched, or when the fetcher last waited for room in the delivery queue.
	readAt time.Time
}

// fetchGroup is the most messages a fetcher holds before handing them over.
const fetchGroup = 64

func newPartitionFetcher(g *kafkaGeneration, p *partitionOffsets) *partitionFetcher {
	return &partitionFetcher{gen: g, part: p, held: make([]*kafkaRecord, 0, fetchGroup)}
}

// hold fills a record from m, to be handed over by the next deliver.
func (f *partitionFetcher) hold(m *kafka.Message) {
	rec := f.slab.next()
	rec.fill(m, f.readAt)
	f.held = append(f.held, rec)
}

// deliver registers the held messages and queues them for Read. It returns ok false when the
// generation ended (those not queued are settled as not done), and waited true when it had
// to wait for room in the queue.
func (f *partitionFetcher) deliver(ctx context.Context) (ok, waited bool) {
	g, p := f.gen, f.part
	g.register(p, f.held)
	n, waited := g.sess.queue.pushAll(ctx, f.held)
	for _, rec := range f.held[n:] {
		g.settle(p, rec.offset, false)
	}
	ok = n == len(f.held)
	clear(f.held)
	f.held = f.held[:0]
	return ok, waited
}

// run reads from offset (an absolute offset, kafka.FirstOffset or kafka.LastOffset) until ctx
// ends or deliver refuses a message. Failures are reported to the session (fetchFailed: logged,
// or fatal for authentication) and retried with backoff.
func (f *partitionFetcher) run(ctx context.Context, offset int64) {
	s, tp := f.gen.sess, f.part.tp
	bo := backoff.New(fetchBackoff)
	for first := true; ; first = false {
		if !first && bo.Wait(ctx) != nil {
			return
		}
		conn, start, err := f.connect(ctx, offset)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, kafka.OffsetOutOfRange) { // past the last offset: wait for more
				s.logger.Debug("kafka fetch: offset out of range; retrying", "topic", tp.topic,
					"partition", tp.partition, "offset", offset, "err", err)
				continue
			}
			s.fetchFailed(tp, err)
			continue
		}
		bo.Reset()
		offset = start
		stop := context.AfterFunc(ctx, func() { _ = conn.Close() }) // ends a fetch waiting on the broker
		offset, err = f.read(ctx, conn, offset)
		stop()
		_ = conn.Close()
		if ctx.Err() != nil || errors.Is(err, errFetchStopped) {
			return
		}
		if quietFetchError(err) {
			s.logger.Debug("kafka fetch: reconnecting", "topic", tp.topic, "partition", tp.partition,
				"offset", offset, "err", err)
			continue
		}
		s.fetchFailed(tp, err)
	}
}

// connect dials the partition's leader through one of the brokers and seeks to offset: a
// special or too small offset becomes the first one, as kafka.Reader does.
func (f *partitionFetcher) connect(ctx context.Context, offset int64) (*kafka.Conn, int64, error) {
	s, tp := f.gen.sess, f.part.tp
	var err error
	for _, broker := range s.opts.Conn.Brokers {
		var conn *kafka.Conn
		conn, err = s.dialer.DialLeader(ctx, "tcp", broker, tp.topic, tp.partition)
		if err != nil {
			continue
		}
		var start int64
		start, err = seekPartition(conn, offset)
		if err != nil {
			_ = conn.Close()
			return nil, 0, err
		}
		return conn, start, nil
	}
	return nil, 0, err
}

func seekPartition(conn *kafka.Conn, offset int64) (int64, error) {
	_ = conn.SetDeadline(time.Now().Add(offsetsTimeout))
	first, last, err := conn.ReadOffsets()
	if err != nil {
		return 0, err
	}
	switch {
	case offset == kafka.FirstOffset || (offset >= 0 && offset < first):
		offset = first
	case offset == kafka.LastOffset:
		offset = last
	}
	start, err := conn.Seek(offset, kafka.SeekAbsolute)
	if err != nil {
		return 0, err
	}
	_ = conn.SetDeadline(time.Time{})
	return start, nil
}

// read fetches batches from conn, from offset on, and delivers their messages until a fetch
// fails or deliver refuses one. It returns the offset to read next and why it stopped.
func (f *partitionFetcher) read(ctx context.Context, conn *kafka.Conn, offset int64) (int64, error) {
	opts := &f.gen.sess.opts
	for {
		_ = conn.SetReadDeadline(time.Now().Add(opts.MaxWait)) // the broker waits at most MaxWait
		batch := conn.ReadBatchWith(kafka.ReadBatchConfig{MinBytes: opts.MinBytes, MaxBytes: opts.MaxBytes})
		f.readAt = time.Now()
		_ = conn.SetReadDeadline(f.readAt.Add(fetchBatchTimeout))
		for {
			m, err := batch.ReadMessage()
			if err != nil {
				break
			}
			f.hold(&m)
			if len(f.held) < fetchGroup {
				continue
			}
			if offset, err = f.handOver(ctx, conn, offset); err != nil {
				_ = batch.Close()
				return offset, err
			}
		}
		var err error
		if offset, err = f.handOver(ctx, conn, offset); err != nil {
			_ = batch.Close()
			return offset, err
		}
		// Close returns the batch's error; the normal end of a batch is none.
		if err = batch.Close(); err != nil && !errors.Is(err, kafka.RequestTimedOut) {
			return offset, err
		}
	}
}

// handOver delivers the held messages and returns the offset to read next, or
// errFetchStopped when the generation ended. After a wait for room it starts the read
// deadline of the batch again.
func (f *partitionFetcher) handOver(ctx context.Context, conn *kafka.Conn, offset int64) (int64, error) {
	if len(f.held) == 0 {
		return offset, nil
	}
	next := f.held[len(f.held)-1].msg.Offset + 1
	ok, waited := f.deliver(ctx)
	if !ok {
		return offset, errFetchStopped
	}
	if waited {
		f.readAt = time.Now()
		_ = conn.SetReadDeadline(f.readAt.Add(fetchBatchTimeout))
	}
	return next, nil
}

// quietFetchError tells the failures after which reconnecting is the normal course (a leader
// moved, a connection broke or timed out, an offset fell out of range) from those worth a
// warning.
func quietFetchError(err error) bool {
	var netErr interface{ Timeout() bool }
	switch {
	case errors.Is(err, kafka.NotLeaderForPartition), errors.Is(err, kafka.UnknownTopicOrPartition),
		errors.Is(err, kafka.OffsetOutOfRange), errors.Is(err, kafka.LeaderNotAvailable),
		errors.Is(err, io.ErrNoProgress), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.As(err, &netErr) && netErr.Timeout():
		return true
	}
	return false
}

package inspect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/seabridge/seabridge/internal/kafkautil"
)

// KafkaTail says what TailKafka reads.
type KafkaTail struct {
	Topic string
	// Group, when set, reads as a member of that consumer group and commits each record once
	// printed; without one every partition is read directly and nothing is committed.
	Group string
	// FromBeginning starts at the earliest retained record (with a Group: where the group
	// has no committed offset); else only records produced from now on are read.
	FromBeginning bool
	Count         int    // stop after this many records; 0: until ctx is done
	Ready         func() // called once, when reading has begun (without a group: every start offset is fixed)
}

// TailKafka prints the records of a topic until ctx is done or Count were printed. A topic
// that does not exist or a cluster that cannot be reached is an error at once.
func TailKafka(ctx context.Context, conn kafkautil.Conn, t KafkaTail, print func(Record) error) error {
	client, transport, err := conn.Client()
	if err != nil {
		return err
	}
	defer transport.CloseIdleConnections()
	partitions, err := topicPartitions(ctx, client, t.Topic)
	if err != nil {
		return err
	}
	dialer, err := conn.Dialer()
	if err != nil {
		return err
	}
	if t.Group != "" {
		return tailGroup(ctx, conn, dialer, t, print)
	}
	starts, err := startOffsets(ctx, client, t.Topic, partitions, t.FromBeginning)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs := make(chan kafka.Message)
	errc := make(chan error, len(partitions)) // each reader sends one error when it stops
	var readers sync.WaitGroup
	defer readers.Wait()
	defer cancel()
	for _, p := range partitions {
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers: conn.Brokers, Topic: t.Topic, Partition: p, Dialer: dialer,
			MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 250 * time.Millisecond,
		})
		if err := r.SetOffset(starts[p]); err != nil {
			r.Close()
			return fmt.Errorf("kafka topic %q partition %d: %w", t.Topic, p, err)
		}
		readers.Go(func() {
			defer r.Close()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					errc <- err
					return
				}
				select {
				case msgs <- m:
				case <-ctx.Done():
					errc <- ctx.Err()
					return
				}
			}
		})
	}
	if t.Ready != nil {
		t.Ready()
	}
	return printUntil(ctx, t.Count, msgs, errc, print)
}

// printUntil prints what arrives on msgs until count were printed, ctx is done (nil) or a
// reader fails.
func printUntil(ctx context.Context, count int, msgs <-chan kafka.Message, errc <-chan error, print func(Record) error) error {
	for n := 0; count == 0 || n < count; n++ {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("kafka: %w", err)
		case m := <-msgs:
			if err := print(kafkaRecord(m)); err != nil {
				return err
			}
		}
	}
	return nil
}

func tailGroup(ctx context.Context, conn kafkautil.Conn, dialer *kafka.Dialer, t KafkaTail, print func(Record) error) error {
	start := kafka.LastOffset
	if t.FromBeginning {
		start = kafka.FirstOffset
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: conn.Brokers, Topic: t.Topic, GroupID: t.Group, Dialer: dialer, StartOffset: start,
		MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 250 * time.Millisecond,
	})
	defer r.Close()
	if t.Ready != nil {
		t.Ready()
	}
	for n := 0; t.Count == 0 || n < t.Count; n++ {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("kafka group %q: %w", t.Group, err)
		}
		if err := print(kafkaRecord(m)); err != nil {
			return err
		}
		if err := r.CommitMessages(context.WithoutCancel(ctx), m); err != nil {
			return fmt.Errorf("kafka group %q: commit: %w", t.Group, err)
		}
	}
	return nil
}

func kafkaRecord(m kafka.Message) Record {
	partition, offset, at := m.Partition, m.Offset, m.Time
	r := Record{Topic: m.Topic, Partition: &partition, Offset: &offset}
	if !at.IsZero() {
		r.Time = &at
	}
	r.setKey(m.Key)
	hs := make([]Header, len(m.Headers))
	for i, h := range m.Headers {
		hs[i] = Header{h.Key, h.Value}
	}
	r.setHeaders(hs)
	r.setValue(m.Value)
	return r
}

// topicPartitions returns the partitions of topic, sorted; an error naming the topic when the
// cluster does not have it.
func topicPartitions(ctx context.Context, client *kafka.Client, topic string) ([]int, error) {
	mctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	md, err := kafkautil.Metadata(mctx, client, []string{topic})
	if err != nil {
		return nil, err
	}
	for _, t := range md.Topics {
		if t.Name != topic {
			continue
		}
		if t.Error != nil && !errors.Is(t.Error, kafka.UnknownTopicOrPartition) {
			return nil, fmt.Errorf("kafka topic %q: %w", topic, t.Error)
		}
		var out []int
		for _, p := range t.Partitions {
			out = append(out, p.ID)
		}
		sort.Ints(out)
		if len(out) > 0 {
			return out, nil
		}
	}
	return nil, fmt.Errorf("%w: %q on %v", kafkautil.ErrTopicMissing, topic, client.Addr)
}

// startOffsets returns, per partition, the earliest retained offset or the high-water mark.
func startOffsets(ctx context.Context, client *kafka.Client, topic string, partitions []int, earliest bool) (map[int]int64, error) {
	at := kafka.LastOffset
	if earliest {
		at = kafka.FirstOffset
	}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for _, p := range partitions {
		req.Topics[topic] = append(req.Topics[topic], kafka.OffsetRequest{Partition: p, Timestamp: at})
	}
	lctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	resp, err := client.ListOffsets(lctx, req)
	if err != nil {
		return nil, fmt.Errorf("kafka topic %q: list offsets: %w", topic, err)
	}
	out := map[int]int64{}
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("kafka topic %q partition %d: %w", topic, p.Partition, p.Error)
		}
		if earliest {
			out[p.Partition] = p.FirstOffset
		} else {
			out[p.Partition] = p.LastOffset
		}
	}
	return out, nil
}

// KafkaSend says what SendKafka writes.
type KafkaSend struct {
	Topic   string
	Key     []byte   // the key of every message read as a plain value; nil: none
	Headers []Header // added to every message read as a plain value
	Records bool     // each line is a Record with its own key, headers and value
}

// sendBatch is how many lines are produced in one write.
const sendBatch = 500

// SendKafka produces every JSON line of in to the topic, acknowledged by all in-sync
// replicas, keyed records placed as the Java producer would (murmur2). It returns how many it
// wrote; on an error every line before the one named was written.
func SendKafka(ctx context.Context, conn kafkautil.Conn, s KafkaSend, in io.Reader) (int, error) {
	client, transport, err := conn.Client()
	if err != nil {
		return 0, err
	}
	defer transport.CloseIdleConnections()
	if _, err := topicPartitions(ctx, client, s.Topic); err != nil {
		return 0, err
	}
	w := &kafka.Writer{
		Addr: kafka.TCP(conn.Brokers...), Topic: s.Topic, Balancer: kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond, BatchSize: sendBatch,
		MaxAttempts: 3, Transport: transport,
	}
	defer w.Close()
	lines := newLineReader(in, s.Records)
	sent := 0
	for {
		batch, lineNos, readErr := readBatch(lines, sendBatch)
		if len(batch) > 0 {
			msgs := make([]kafka.Message, len(batch))
			for i, m := range batch {
				msgs[i] = kafka.Message{Key: m.key, Value: m.value}
				hs := m.headers
				if !s.Records {
					msgs[i].Key = s.Key
					hs = s.Headers
				}
				for _, h := range hs {
					msgs[i].Headers = append(msgs[i].Headers, kafka.Header{Key: h.Key, Value: h.Value})
				}
			}
			if err := w.WriteMessages(ctx, msgs...); err != nil {
				return sent, writeError(s.Topic, lineNos, err)
			}
			sent += len(batch)
		}
		if readErr == io.EOF {
			return sent, nil
		}
		if readErr != nil {
			return sent, readErr
		}
	}
}

// readBatch reads up to n messages; the error is io.EOF at the end of the input, or the
// first line that could not be read (after the messages before it).
func readBatch(lines *lineReader, n int) ([]message, []int, error) {
	var out []message
	var nos []int
	for len(out) < n {
		m, err := lines.next()
		if err != nil {
			return out, nos, err
		}
		out = append(out, m)
		nos = append(nos, m.line)
	}
	return out, nos, nil
}

// writeError names the first line of a failed write.
func writeError(topic string, lineNos []int, err error) error {
	var werrs kafka.WriteErrors
	if errors.As(err, &werrs) {
		for i, e := range werrs {
			if e != nil {
				return fmt.Errorf("kafka topic %q: line %d: %w (lines before it in the same write may have been written)", topic, lineNos[i], e)
			}
		}
	}
	return fmt.Errorf("kafka topic %q: %s: %w", topic, lineRange(lineNos[0], lineNos[len(lineNos)-1]), err)
}

// lineRange names input lines first..last.
func lineRange(first, last int) string {
	if first == last {
		return fmt.Sprintf("line %d", first)
	}
	return fmt.Sprintf("lines %d-%d", first, last)
}

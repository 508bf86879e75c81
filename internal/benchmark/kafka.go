package benchmark

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// kafkaTarget is the Kafka a run uses: an in-process kfake cluster (in the bench process, not
// in any measured one), or the external brokers of Options.Kafka.
type kafkaTarget struct {
	brokers   []string
	cluster   *kfake.Cluster // nil with external brokers
	transport *kafka.Transport
	client    *kafka.Client
}

// startKafka starts a kfake cluster on 127.0.0.1 when brokers is empty, else uses brokers.
func startKafka(brokers []string) (*kafkaTarget, error) {
	k := &kafkaTarget{brokers: brokers}
	if len(brokers) == 0 {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1))
		if err != nil {
			return nil, fmt.Errorf("start kfake: %w", err)
		}
		k.cluster, k.brokers = c, c.ListenAddrs()
	}
	k.transport = &kafka.Transport{DialTimeout: 5 * time.Second, MetadataTTL: time.Second}
	k.client = &kafka.Client{Addr: kafka.TCP(k.brokers...), Timeout: 10 * time.Second, Transport: k.transport}
	return k, nil
}

func (k *kafkaTarget) close() {
	k.transport.CloseIdleConnections()
	if k.cluster != nil {
		k.cluster.Close()
	}
}

// warmUp waits until the cluster can coordinate consumer groups: a fresh Apache Kafka creates
// its offsets topic on the first request for a coordinator, which takes seconds that have
// nothing to do with the bridge.
func (k *kafkaTarget) warmUp(ctx context.Context) error {
	for {
		resp, err := k.client.FindCoordinator(ctx, &kafka.FindCoordinatorRequest{Key: uniqueName("seabridge-bench-warmup"), KeyType: kafka.CoordinatorKeyTypeConsumer})
		if err == nil && resp.Error == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kafka: waiting for a group coordinator: %w (last: %v)", ctx.Err(), errors.Join(err, respErr(resp)))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func respErr(resp *kafka.FindCoordinatorResponse) error {
	if resp == nil {
		return nil
	}
	return resp.Error
}

// createTopic creates topic and waits until every partition has a leader.
func (k *kafkaTarget) createTopic(ctx context.Context, topic string, partitions int) error {
	resp, err := k.client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: topic, NumPartitions: partitions, ReplicationFactor: 1,
	}}})
	if err == nil {
		err = resp.Errors[topic]
	}
	if err != nil {
		return fmt.Errorf("create topic %q: %w", topic, err)
	}
	for {
		md, err := k.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
		if err == nil && topicReady(md, topic, partitions) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("create topic %q: wait for leaders: %w", topic, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func topicReady(md *kafka.MetadataResponse, topic string, partitions int) bool {
	for _, t := range md.Topics {
		if t.Name != topic || t.Error != nil || len(t.Partitions) < partitions {
			continue
		}
		for _, p := range t.Partitions {
			if p.Leader.Host == "" {
				return false
			}
		}
		return true
	}
	return false
}

// deleteTopic removes a topic; failures are ignored (the topic only costs the broker room).
func (k *kafkaTarget) deleteTopic(ctx context.Context, topic string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, _ = k.client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{topic}})
}

// prefill writes n payloads (sequence numbers 0..n-1) to topic as fast as it can: large
// batches spread over every partition, written concurrently by kafka-go.
func (k *kafkaTarget) prefill(ctx context.Context, topic string, n int) error {
	const chunk = 20_000
	w := &kafka.Writer{
		Addr: kafka.TCP(k.brokers...), Topic: topic, Transport: k.transport, Balancer: &kafka.RoundRobin{},
		RequiredAcks: kafka.RequireAll, BatchSize: 2000, BatchBytes: 4 << 20, BatchTimeout: time.Millisecond,
		WriteTimeout: 30 * time.Second,
	}
	defer func() { _ = w.Close() }()
	if err := produce(ctx, w, 0, n, chunk); err != nil {
		return fmt.Errorf("pre-produce: %w", err)
	}
	return nil
}

// consumer reads every partition of a topic from the earliest offset, without a consumer
// group, one goroutine per partition, recording each message in arrivals.
type consumer struct {
	readers []*kafka.Reader
	wg      sync.WaitGroup
}

// startConsumer starts reading topic's partitions 0..partitions-1; stop ends it.
func startConsumer(ctx context.Context, k *kafkaTarget, topic string, partitions int, a *arrivals, errc chan<- error) *consumer {
	c := &consumer{}
	for part := range partitions {
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers: k.brokers, Topic: topic, Partition: part, Dialer: &kafka.Dialer{Timeout: 5 * time.Second},
			MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond, StartOffset: kafka.FirstOffset,
		})
		c.readers = append(c.readers, r)
		rec := a.recorder()
		c.wg.Go(func() {
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					if ctx.Err() == nil {
						report(errc, fmt.Errorf("consume %s[%d]: %w", topic, part, err))
					}
					return
				}
				rec.observe(m.Value, time.Now())
			}
		})
	}
	return c
}

// stop waits for the readers to return (their ctx must be done) and closes them.
func (c *consumer) stop() {
	c.wg.Wait()
	for _, r := range c.readers {
		_ = r.Close()
	}
}

// kafkaSender sends paced payloads for a latency scenario: each call of send writes its
// records as one produce request to one partition, the next call to the next partition, so
// that no producer linger sits between the stamped send time and the broker.
type kafkaSender struct {
	k          *kafkaTarget
	topic      string
	partitions int
	next       int
	records    []kafka.Record
}

func (s *kafkaSender) send(ctx context.Context, payloads [][]byte) error {
	s.records = s.records[:0]
	for _, p := range payloads {
		s.records = append(s.records, kafka.Record{Value: kafka.NewBytes(p)})
	}
	part := s.next
	s.next = (s.next + 1) % s.partitions
	resp, err := s.k.client.Produce(ctx, &kafka.ProduceRequest{
		Topic: s.topic, Partition: part, RequiredAcks: kafka.RequireAll, Records: kafka.NewRecordReader(s.records...),
	})
	if err == nil {
		err = resp.Error
	}
	if err != nil {
		return fmt.Errorf("produce to %s[%d]: %w", s.topic, part, err)
	}
	return nil
}

// report sends err to errc without blocking; the first error is the one that counts.
func report(errc chan<- error, err error) {
	select {
	case errc <- err:
	default:
	}
}

package benchmark

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/seabridge/seabridge/internal/config"
)

// kafkaTarget is the Kafka a scenario runs against: a fresh in-process kfake cluster, or the
// external brokers of Options.Kafka.
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
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
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

// deleteTopic removes a topic from external brokers; kfake clusters are discarded whole.
// Failures are ignored: the topic only costs the broker some disk.
func (k *kafkaTarget) deleteTopic(ctx context.Context, topic string) {
	if k.cluster != nil {
		return
	}
	_, _ = k.client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{topic}})
}

// writer returns a producer with the bridge sink's default settings (acks=all, batch_size,
// batch_bytes, write_timeout, max_attempts) and the given linger.
func (k *kafkaTarget) writer(topic string, batchTimeout time.Duration) *kafka.Writer {
	d := config.DefaultSink(config.EndpointKafka)
	return &kafka.Writer{
		Addr: kafka.TCP(k.brokers...), Topic: topic, Transport: k.transport, Balancer: &kafka.Hash{},
		RequiredAcks: kafka.RequireAll, BatchSize: d.BatchSize, BatchBytes: int64(d.BatchBytes),
		BatchTimeout: batchTimeout, WriteTimeout: d.WriteTimeout, MaxAttempts: d.MaxAttempts,
	}
}

// produce writes n payloads to w in synchronous batches of batch records, stamping each batch
// with the time it is handed to the writer. It returns when all are acknowledged.
func produce(ctx context.Context, w *kafka.Writer, n, size, batch int) error {
	payloads := newPayloadBatch(batch, size)
	msgs := make([]kafka.Message, batch)
	for sent := 0; sent < n; {
		k := min(batch, n-sent)
		for i, p := range payloads.fill(k, int64(sent), time.Now().UnixNano()) {
			msgs[i] = kafka.Message{Value: p}
		}
		if err := w.WriteMessages(ctx, msgs[:k]...); err != nil {
			return fmt.Errorf("produce after %d of %d: %w", sent, n, err)
		}
		sent += k
	}
	return nil
}

// consumer reads every partition of a topic from the earliest offset, without a consumer
// group, one goroutine per partition, recording each message in the probe.
type consumer struct {
	readers []*kafka.Reader
	wg      sync.WaitGroup
}

// startConsumer starts reading topic's partitions 0..partitions-1; stop ends it.
func startConsumer(ctx context.Context, k *kafkaTarget, topic string, partitions int, p *Probe, errc chan<- error) *consumer {
	c := &consumer{}
	for part := range partitions {
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers: k.brokers, Topic: topic, Partition: part,
			MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond, StartOffset: kafka.FirstOffset,
		})
		c.readers = append(c.readers, r)
		rec := p.Recorder()
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
						report(errc, fmt.Errorf("consume %s[%d]: %w", topic, part, err))
					}
					return
				}
				rec.Observe(m.Value, time.Now())
			}
		}()
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

// report sends err to errc without blocking; the first error is the one that counts.
func report(errc chan<- error, err error) {
	select {
	case errc <- err:
	default:
	}
}

package observe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/seabridge/seabridge/internal/kafkautil"
)

const defaultLagInterval = 15 * time.Second

// GroupTopics names the consumer group of one pipeline and the topics it reads.
type GroupTopics struct {
	Pipeline string
	GroupID  string
	Topics   []string
}

// LagOptions configures a LagCollector.
type LagOptions struct {
	Conn     kafkautil.Conn
	Interval time.Duration // between scrapes; default 15s
	Groups   []GroupTopics
}

// partitionLag is the state of one partition of one pipeline's group at the last scrape.
type partitionLag struct {
	topic     string
	partition int
	earliest  int64
	hwm       int64 // high-water mark: the offset the next produced record gets
	committed int64 // -1 when the group committed nothing for the partition
}

// lag is the number of records the group has not consumed. With no commit yet, the group is
// assumed to start at the earliest retained offset (the source's default start), so every
// retained record counts.
func (p partitionLag) lag() int64 {
	from := p.committed
	if from < 0 {
		from = p.earliest
	}
	return max(p.hwm-from, 0)
}

// LagCollector computes consumer-group lag as high-water mark minus committed offset for every
// partition of every configured group, and exports it as a prometheus.Collector. Run scrapes
// Kafka periodically from one goroutine; Collect reports the last successful scrape of each
// pipeline, so partitions that disappear from the cluster disappear from the metrics. Collect
// may run concurrently with Run.
type LagCollector struct {
	opts   LagOptions
	logger *slog.Logger

	lagDesc, hwmDesc, committedDesc *prometheus.Desc
	scrapeErrors                    *prometheus.CounterVec
	lastSuccess                     *prometheus.GaugeVec

	mu    sync.Mutex
	state map[string][]partitionLag // by pipeline
}

// NewLagCollector returns a collector registered with reg (not registered when reg is nil). It
// panics if it is already registered.
func NewLagCollector(opts LagOptions, logger *slog.Logger, reg prometheus.Registerer) *LagCollector {
	if opts.Interval <= 0 {
		opts.Interval = defaultLagInterval
	}
	labels := []string{"pipeline", "topic", "partition"}
	c := &LagCollector{
		opts:   opts,
		logger: logger.With("component", "kafka-lag"),
		lagDesc: prometheus.NewDesc("seabridge_kafka_consumer_lag",
			"Records of the partition not yet committed by the pipeline's consumer group (high-water mark minus committed offset; minus the earliest offset before the first commit).",
			labels, nil),
		hwmDesc: prometheus.NewDesc("seabridge_kafka_high_watermark",
			"High-water mark of the partition: the offset of the next record produced to it.", labels, nil),
		committedDesc: prometheus.NewDesc("seabridge_kafka_committed_offset",
			"Offset committed by the pipeline's consumer group (absent before the first commit).", labels, nil),
		scrapeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "seabridge_kafka_lag_scrape_errors_total", Help: "Lag scrapes that failed, by pipeline."},
			[]string{"pipeline"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "seabridge_kafka_lag_last_success_timestamp_seconds", Help: "Unix time of the last successful lag scrape, by pipeline."},
			[]string{"pipeline"}),
		state: make(map[string][]partitionLag),
	}
	if reg != nil {
		reg.MustRegister(c)
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *LagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lagDesc
	ch <- c.hwmDesc
	ch <- c.committedDesc
	c.scrapeErrors.Describe(ch)
	c.lastSuccess.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c *LagCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	for pipeline, parts := range c.state {
		for _, p := range parts {
			labels := []string{pipeline, p.topic, strconv.Itoa(p.partition)}
			ch <- prometheus.MustNewConstMetric(c.lagDesc, prometheus.GaugeValue, float64(p.lag()), labels...)
			ch <- prometheus.MustNewConstMetric(c.hwmDesc, prometheus.GaugeValue, float64(p.hwm), labels...)
			if p.committed >= 0 {
				ch <- prometheus.MustNewConstMetric(c.committedDesc, prometheus.GaugeValue, float64(p.committed), labels...)
			}
		}
	}
	c.mu.Unlock()
	c.scrapeErrors.Collect(ch)
	c.lastSuccess.Collect(ch)
}

// Run scrapes at once and then every Interval until ctx is done, and then returns nil. Scrape
// failures are logged and counted, never returned; an error means invalid connection settings.
func (c *LagCollector) Run(ctx context.Context) error {
	client, transport, err := c.opts.Conn.Client()
	if err != nil {
		return fmt.Errorf("kafka lag collector: %w", err)
	}
	defer transport.CloseIdleConnections()
	ticker := time.NewTicker(c.opts.Interval)
	defer ticker.Stop()
	for {
		c.scrapeAll(ctx, client)
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

func (c *LagCollector) scrapeAll(ctx context.Context, client *kafka.Client) {
	for _, g := range c.opts.Groups {
		sctx, cancel := context.WithTimeout(ctx, c.opts.Interval)
		parts, err := scrapeGroup(sctx, client, g)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				c.scrapeErrors.WithLabelValues(g.Pipeline).Inc()
				c.logger.Warn("consumer-group lag scrape failed", "pipeline", g.Pipeline, "group", g.GroupID, "err", err)
			}
			continue
		}
		c.mu.Lock()
		c.state[g.Pipeline] = parts
		c.mu.Unlock()
		c.lastSuccess.WithLabelValues(g.Pipeline).SetToCurrentTime()
	}
}

// scrapeGroup reads the partitions of g's topics, their earliest and high-water offsets, and
// g's committed offsets. Topics and partitions missing from the cluster are left out.
func scrapeGroup(ctx context.Context, client *kafka.Client, g GroupTopics) ([]partitionLag, error) {
	md, err := kafkautil.Metadata(ctx, client, g.Topics)
	if err != nil {
		return nil, err
	}
	offsetReqs := make(map[string][]kafka.OffsetRequest)
	partitionIDs := make(map[string][]int)
	for _, t := range md.Topics {
		if t.Error != nil {
			continue
		}
		for _, p := range t.Partitions {
			offsetReqs[t.Name] = append(offsetReqs[t.Name], kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
			partitionIDs[t.Name] = append(partitionIDs[t.Name], p.ID)
		}
	}
	if len(partitionIDs) == 0 {
		return nil, nil
	}
	offsets, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: offsetReqs})
	if err != nil {
		return nil, fmt.Errorf("list offsets: %w", err)
	}
	committed, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: g.GroupID, Topics: partitionIDs})
	if err == nil {
		err = committed.Error
	}
	if errors.Is(err, kafka.GroupIdNotFound) {
		// Some brokers answer this for a group that never committed: nothing is committed.
		committed, err = &kafka.OffsetFetchResponse{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fetch offsets of group %q: %w", g.GroupID, err)
	}
	return joinOffsets(offsets, committed)
}

func joinOffsets(offsets *kafka.ListOffsetsResponse, committed *kafka.OffsetFetchResponse) ([]partitionLag, error) {
	commits := make(map[string]map[int]int64)
	for topic, parts := range committed.Topics {
		commits[topic] = make(map[int]int64, len(parts))
		for _, p := range parts {
			if p.Error == nil {
				commits[topic][p.Partition] = p.CommittedOffset
			}
		}
	}
	var out []partitionLag
	var errs []error
	for topic, parts := range offsets.Topics {
		for _, p := range parts {
			if errors.Is(p.Error, kafka.UnknownTopicOrPartition) {
				continue // deleted since the metadata was read
			}
			if p.Error != nil {
				errs = append(errs, fmt.Errorf("offsets of %s/%d: %w", topic, p.Partition, p.Error))
				continue
			}
			c, ok := commits[topic][p.Partition]
			if !ok {
				c = -1
			}
			out = append(out, partitionLag{topic: topic, partition: p.Partition, earliest: p.FirstOffset, hwm: p.LastOffset, committed: c})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].topic != out[j].topic {
			return out[i].topic < out[j].topic
		}
		return out[i].partition < out[j].partition
	})
	return out, errors.Join(errs...)
}

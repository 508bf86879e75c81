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

const defaultLagInterval = 5 * time.Second

// GroupTopics names the consumer group of one pipeline and the topics it reads.
type GroupTopics struct {
	Pipeline string
	GroupID  string
	Topics   []string
	// Owns reports whether this instance's member of the group owns topic/partition in the
	// group's current generation; only owned partitions are exported in the
	// seabridge_kafka_consumergroup_* series. Nil: none is.
	Owns func(topic string, partition int) bool
}

// LagOptions configures a LagCollector.
type LagOptions struct {
	Conn     kafkautil.Conn
	Interval time.Duration // between scrapes; default 5s
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
// partition of every configured group. Run scrapes Kafka periodically from one goroutine;
// collecting reports the last successful scrape of each pipeline, so partitions that disappear
// from the cluster disappear from the metrics. It exports two sets of series:
//
//   - seabridge_kafka_consumer_lag, _high_watermark and _committed_offset{pipeline,topic,partition}
//     for every partition, from every instance (aggregate them across instances with max);
//   - seabridge_kafka_consumergroup_lag{consumergroup,topic,partition} and
//     seabridge_kafka_consumergroup_lag_sum{consumergroup,topic}, in kafka_exporter's
//     convention, for the partitions this instance owns in the group's current generation
//     only (GroupTopics.Owns), so that summing them across instances counts each partition
//     once.
//
// Register collectors with LagCollectors, which merges the second set across pipelines.
// Collecting may run concurrently with Run.
type LagCollector struct {
	opts   LagOptions
	logger *slog.Logger

	lagDesc, hwmDesc, committedDesc *prometheus.Desc
	groupLagDesc, groupLagSumDesc   *prometheus.Desc
	scrapeErrors                    *prometheus.CounterVec
	lastSuccess                     *prometheus.GaugeVec

	mu    sync.Mutex
	state map[string][]partitionLag // by pipeline
}

// NewLagCollector returns a collector of opts.Groups. Register it (with any others) as
// LagCollectors. The scrape error counter of every group starts at 0.
func NewLagCollector(opts LagOptions, logger *slog.Logger) *LagCollector {
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
		groupLagDesc: prometheus.NewDesc("seabridge_kafka_consumergroup_lag",
			"Consumer-group lag of a partition this instance owns in the group's current generation (kafka_exporter's kafka_consumergroup_lag): sum across instances.",
			[]string{"consumergroup", "topic", "partition"}, nil),
		groupLagSumDesc: prometheus.NewDesc("seabridge_kafka_consumergroup_lag_sum",
			"Consumer-group lag of the partitions of the topic this instance owns in the group's current generation (kafka_exporter's kafka_consumergroup_lag_sum): sum across instances.",
			[]string{"consumergroup", "topic"}, nil),
		scrapeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "seabridge_kafka_lag_scrape_errors_total", Help: "Lag scrapes that failed, by pipeline."},
			[]string{"pipeline"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "seabridge_kafka_lag_last_success_timestamp_seconds", Help: "Unix time of the last successful lag scrape, by pipeline."},
			[]string{"pipeline"}),
		state: make(map[string][]partitionLag),
	}
	for _, g := range opts.Groups {
		c.scrapeErrors.WithLabelValues(g.Pipeline)
	}
	return c
}

// LagCollectors exports lag collectors as one prometheus.Collector. Their per-pipeline series
// differ by pipeline; their consumergroup series are merged, so that two pipelines in one
// consumer group (members of it side by side) export one lag_sum per group and topic.
type LagCollectors []*LagCollector

// Describe implements prometheus.Collector.
func (s LagCollectors) Describe(ch chan<- *prometheus.Desc) {
	if len(s) == 0 {
		return
	}
	c := s[0]
	for _, d := range []*prometheus.Desc{c.lagDesc, c.hwmDesc, c.committedDesc, c.groupLagDesc, c.groupLagSumDesc} {
		ch <- d
	}
	c.scrapeErrors.Describe(ch)
	c.lastSuccess.Describe(ch)
}

type groupPartition struct {
	group, topic string
	partition    int
}

type groupTopic struct{ group, topic string }

// Collect implements prometheus.Collector.
func (s LagCollectors) Collect(ch chan<- prometheus.Metric) {
	if len(s) == 0 {
		return
	}
	lags := map[groupPartition]int64{}
	sums := map[groupTopic]int64{}
	for _, c := range s {
		c.collectPipelines(ch)
		c.owned(lags, sums)
	}
	c := s[0]
	for k, v := range lags {
		ch <- prometheus.MustNewConstMetric(c.groupLagDesc, prometheus.GaugeValue, float64(v), k.group, k.topic, strconv.Itoa(k.partition))
	}
	for k, v := range sums {
		ch <- prometheus.MustNewConstMetric(c.groupLagSumDesc, prometheus.GaugeValue, float64(v), k.group, k.topic)
	}
}

// collectPipelines sends the per-pipeline series.
func (c *LagCollector) collectPipelines(ch chan<- prometheus.Metric) {
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

// owned adds the lag of every partition this instance owns to lags, and to sums per topic; a
// topic of a scraped group gets a sum (0 when it owns none of its partitions).
func (c *LagCollector) owned(lags map[groupPartition]int64, sums map[groupTopic]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, g := range c.opts.Groups {
		parts, scraped := c.state[g.Pipeline]
		if !scraped || g.Owns == nil {
			continue
		}
		for _, p := range parts {
			gt := groupTopic{g.GroupID, p.topic}
			sums[gt] += 0
			if !g.Owns(p.topic, p.partition) {
				continue
			}
			gp := groupPartition{g.GroupID, p.topic, p.partition}
			if _, dup := lags[gp]; dup {
				continue // owned by two pipelines at once: only across a rebalance, count it once
			}
			lags[gp] = p.lag()
			sums[gt] += p.lag()
		}
	}
}

// Lag returns the consumer-group lag of pipeline's group, summed over its partitions, at the
// last successful scrape; false before one or for a pipeline it does not scrape. Safe for
// concurrent use.
func (c *LagCollector) Lag(pipeline string) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	parts, ok := c.state[pipeline]
	var sum int64
	for _, p := range parts {
		sum += p.lag()
	}
	return sum, ok
}

// Run scrapes at once and then every Interval until ctx is done, and then returns nil. Scrape
// failures are logged and counted, never returned; an error means invalid connection settings.
// When ctx ends during a scrape, Run returns at once and closes its connections, so that no
// request of the scrape outlives it (kafka-go's Transport would otherwise go on waiting for a
// broker that does not answer, up to the request's timeout).
func (c *LagCollector) Run(ctx context.Context) error {
	client, transport, err := c.opts.Conn.Client()
	if err != nil {
		return fmt.Errorf("kafka lag collector: %w", err)
	}
	conns := kafkautil.NewConns()
	conns.TrackTransport(transport)
	defer transport.CloseIdleConnections()
	defer conns.Abort()
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

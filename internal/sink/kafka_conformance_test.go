package sink

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/seabridge/seabridge/internal/kafkautil"
	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/pipeline/pipelinetest"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// TestKafkaSinkConformance runs the sink conformance suite against kfake, one topic with one
// partition per subtest. SetSlow holds produce requests at the broker.
func TestKafkaSinkConformance(t *testing.T) {
	verifyNoLeaks(t)
	pipelinetest.RunSinkSuite(t, pipelinetest.SinkHarness{
		Setup: func(t *testing.T) pipelinetest.SinkBackend {
			cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0), kfake.SeedTopics(1, "out"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(cluster.Close)
			brokers := cluster.ListenAddrs()
			conn := kafkautil.Conn{Brokers: brokers, DialTimeout: 2 * time.Second}
			slow := newProduceGate(cluster)
			return pipelinetest.SinkBackend{
				NewSink: func(t *testing.T) pipeline.Sink {
					k, err := NewKafka(KafkaOptions{Pipeline: "p", Conn: conn, Topic: "out", WriteTimeout: 2 * time.Second},
						discardLogger(), nil)
					if err != nil {
						t.Fatal(err)
					}
					return k
				},
				Collect: func(ctx context.Context, t *testing.T, want int) [][]byte {
					timeout := 10 * time.Second
					if d, ok := ctx.Deadline(); ok {
						timeout = time.Until(d)
					}
					var values [][]byte
					for _, m := range kafkatest.ConsumeN(t, brokers, "out", want, timeout) {
						values = append(values, m.Value)
					}
					return values
				},
				SetSlow: func(_ *testing.T, on bool) { slow.set(on) },
			}
		},
	})
}

// produceGate holds every produce request at the broker while it is closed.
type produceGate struct {
	mu   sync.Mutex
	open chan struct{} // nil while open; closed to release the held requests
}

func newProduceGate(c *kfake.Cluster) *produceGate {
	g := &produceGate{}
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		g.mu.Lock()
		wait := g.open
		g.mu.Unlock()
		if wait != nil {
			c.SleepControl(func() { <-wait })
		}
		return nil, nil, false
	})
	return g
}

func (g *produceGate) set(closed bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case closed && g.open == nil:
		g.open = make(chan struct{})
	case !closed && g.open != nil:
		close(g.open)
		g.open = nil
	}
}

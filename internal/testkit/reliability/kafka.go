package reliability

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/seabridge/seabridge/internal/testkit/faultproxy"
	"github.com/seabridge/seabridge/internal/testkit/proctest"
)

// Kafka is the broker of a scenario. The bridge is configured with BridgeBrokers; the
// harness's own clients (Client) always reach the broker directly, so that a fault on the
// bridge's path does not touch them.
//
// The harness's clients use franz-go, not the kafka-go library the bridge is built on, so
// that a bug of that library cannot hide itself by being on both sides.
type Kafka struct {
	Kind          string // "kfake" or "kafka" (Apache Kafka from scripts/kafka.sh)
	BridgeBrokers []string
	Proxy         *faultproxy.Proxy // real Kafka only: every connection of the bridge goes through it
	real          *RealKafka
	direct        string
}

// KFake starts an in-process kfake broker for one test.
func KFake(t testing.TB) *Kafka {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatalf("reliability: start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	addrs := c.ListenAddrs()
	return &Kafka{Kind: "kfake", BridgeBrokers: addrs, direct: addrs[0]}
}

// Client is a franz-go client of the broker that bypasses the fault proxy. It is closed at
// the end of the test.
func (k *Kafka) Client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	all := []kgo.Opt{kgo.SeedBrokers(k.direct), kgo.BrokerMaxReadBytes(64 << 20)}
	if k.real != nil {
		proxied, direct := k.real.Proxy.Addr(), k.direct
		all = append(all, kgo.Dialer(func(ctx context.Context, network, host string) (net.Conn, error) {
			if host == proxied {
				host = direct
			}
			var d net.Dialer
			return d.DialContext(ctx, network, host)
		}))
	}
	c, err := kgo.NewClient(append(all, opts...)...)
	if err != nil {
		t.Fatalf("reliability: kafka client: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// CreateTopic creates a topic with the given partitions and topic configs (e.g.
// "max.message.bytes") and waits until its metadata lists every partition.
func (k *Kafka) CreateTopic(t testing.TB, topic string, partitions int, configs map[string]string) {
	t.Helper()
	c := k.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, int32(partitions), 1
	for name, v := range configs {
		cfg := kmsg.NewCreateTopicsRequestTopicConfig()
		cfg.Name, cfg.Value = name, kmsg.StringPtr(v)
		rt.Configs = append(rt.Configs, cfg)
	}
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 30000
	resp, err := req.RequestWith(ctx, c)
	if err != nil {
		t.Fatalf("reliability: create topic %s: %v", topic, err)
	}
	for _, r := range resp.Topics {
		if r.ErrorCode != 0 {
			t.Fatalf("reliability: create topic %s: error code %d %v", topic, r.ErrorCode, r.ErrorMessage)
		}
	}
	for ctx.Err() == nil {
		mreq := kmsg.NewPtrMetadataRequest()
		mt := kmsg.NewMetadataRequestTopic()
		mt.Topic = kmsg.StringPtr(topic)
		mreq.Topics = append(mreq.Topics, mt)
		mresp, err := mreq.RequestWith(ctx, c)
		if err == nil && len(mresp.Topics) == 1 && mresp.Topics[0].ErrorCode == 0 &&
			len(mresp.Topics[0].Partitions) == partitions && leadersKnown(mresp.Topics[0].Partitions) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("reliability: topic %s has no leaders for its %d partitions after 60s", topic, partitions)
}

func leadersKnown(ps []kmsg.MetadataResponseTopicPartition) bool {
	for _, p := range ps {
		if p.Leader < 0 || p.ErrorCode != 0 {
			return false
		}
	}
	return true
}

// Kill SIGKILLs the real broker (scripts/kafka.sh kill).
func (k *Kafka) Kill(t testing.TB) {
	t.Helper()
	if k.real == nil {
		t.Fatal("reliability: Kill needs Apache Kafka, not kfake")
	}
	if err := k.real.script("kill"); err != nil {
		t.Fatal(err)
	}
}

// Restart starts the real broker again on its data (scripts/kafka.sh restart) and waits
// until it answers.
func (k *Kafka) Restart(t testing.TB) {
	t.Helper()
	if k.real == nil {
		t.Fatal("reliability: Restart needs Apache Kafka, not kfake")
	}
	if err := k.real.script("restart"); err != nil {
		t.Fatal(err)
	}
}

// RealKafka is one Apache Kafka broker started by scripts/kafka.sh for a whole test run,
// behind a fault proxy that it advertises as its address.
type RealKafka struct {
	root   string
	env    []string
	port   string
	Proxy  *faultproxy.Proxy
	logDir string
}

// StartRealKafka starts Apache Kafka with scripts/kafka.sh on the client and controller
// ports of SEABRIDGE_KAFKA_PORT and SEABRIDGE_KAFKA_CONTROLLER_PORT (default 19092 and
// 19093), advertising a fault proxy on a free port as its address.
func StartRealKafka() (*RealKafka, error) {
	root, err := proctest.ModuleRoot()
	if err != nil {
		return nil, err
	}
	port := envOr("SEABRIDGE_KAFKA_PORT", "19092")
	controller := envOr("SEABRIDGE_KAFKA_CONTROLLER_PORT", "19093")
	p, err := faultproxy.New("127.0.0.1:0", "127.0.0.1:"+port)
	if err != nil {
		return nil, err
	}
	r := &RealKafka{
		root: root, port: port, Proxy: p,
		env: append(os.Environ(), "SEABRIDGE_KAFKA_PORT="+port, "SEABRIDGE_KAFKA_CONTROLLER_PORT="+controller,
			"SEABRIDGE_KAFKA_ADVERTISED="+p.Addr()),
		logDir: filepath.Join(root, ".cache", "kafka", "logs-"+port),
	}
	if err := r.script("start"); err != nil {
		_ = p.Close()
		return nil, err
	}
	return r, nil
}

// Scenario returns the broker for one test: the bridge dials the proxy, the harness the
// broker itself. The proxy is healed when the test ends.
func (r *RealKafka) Scenario(t testing.TB) *Kafka {
	t.Cleanup(func() { _ = r.Proxy.Heal(); r.Proxy.SetLatency(0) })
	return &Kafka{Kind: "kafka", BridgeBrokers: []string{r.Proxy.Addr()}, Proxy: r.Proxy, real: r,
		direct: "127.0.0.1:" + r.port}
}

// Stop stops the broker and the proxy.
func (r *RealKafka) Stop() error {
	err := r.script("stop")
	_ = r.Proxy.Close()
	return err
}

func (r *RealKafka) script(cmd string) error {
	c := exec.Command(filepath.Join(r.root, "scripts", "kafka.sh"), cmd)
	c.Env = r.env
	out, err := c.CombinedOutput()
	if err != nil {
		return fmt.Errorf("reliability: scripts/kafka.sh %s: %w\n%s", cmd, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

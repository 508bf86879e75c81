package kafkatest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// EnvBrokers names the environment variable that points tests at a real Kafka:
// a comma-separated list of host:port.
const EnvBrokers = "SEABRIDGE_KAFKA_BROKERS"

// opTimeout bounds every single helper operation (a produce, a topic creation, a
// metadata wait) so that a broken broker fails a test instead of hanging it.
const opTimeout = 30 * time.Second

// Brokers starts a single-broker kfake cluster on 127.0.0.1 with automatic topic
// creation (one partition by default, like scripts/kafka.sh's broker) and returns
// its address. Extra options are appended, so they may override these defaults,
// e.g. kfake.SeedTopics(3, "orders"). The cluster is closed by t.Cleanup.
func Brokers(t testing.TB, opts ...kfake.Opt) []string {
	t.Helper()
	all := append([]kfake.Opt{
		kfake.NumBrokers(1),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(1),
	}, opts...)
	cluster, err := kfake.NewCluster(all...)
	if err != nil {
		t.Fatalf("kafkatest: start kfake: %v", err)
	}
	t.Cleanup(cluster.Close)
	return cluster.ListenAddrs()
}

// Real returns the brokers listed in SEABRIDGE_KAFKA_BROKERS. It skips the test
// when the variable is unset and fails it when the brokers do not answer.
func Real(t testing.TB) []string {
	t.Helper()
	brokers := realBrokers()
	if len(brokers) == 0 {
		t.Skipf("kafkatest: %s is unset; start a broker with scripts/kafka.sh start and set %s=127.0.0.1:19092 to run this test against Apache Kafka",
			EnvBrokers, EnvBrokers)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := metadata(ctx, brokers); err != nil {
		t.Fatalf("kafkatest: %s=%s is set but the brokers do not answer (is scripts/kafka.sh start running?): %v",
			EnvBrokers, strings.Join(brokers, ","), err)
	}
	return brokers
}

// ForEachBroker runs fn as a subtest "kfake" against a fresh kfake cluster, then
// as a subtest "kafka" against the real Kafka of SEABRIDGE_KAFKA_BROKERS (skipped,
// with the reason, when the variable is unset). Topics on the real broker outlive
// the test: give them unique names (UniqueTopic).
func ForEachBroker(t *testing.T, fn func(t *testing.T, brokers []string)) {
	t.Helper()
	t.Run("kfake", func(t *testing.T) { fn(t, Brokers(t)) })
	t.Run("kafka", func(t *testing.T) { fn(t, Real(t)) })
}

func realBrokers() []string {
	var brokers []string
	for _, b := range strings.Split(os.Getenv(EnvBrokers), ",") {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	return brokers
}

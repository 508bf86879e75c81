package sink

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/seabridge/seabridge/internal/kafkautil"
	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// placement is one line of a testdata/partitions vector file: where a client puts a key.
type placement struct {
	key        string // as in keys.txt: <empty> is the empty key
	partitions int
	partition  int
}

func (p placement) keyBytes() []byte {
	if p.key == "<empty>" {
		return []byte{}
	}
	return []byte(p.key)
}

func parsePlacements(t *testing.T, data []byte) []placement {
	t.Helper()
	var out []placement
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			t.Fatalf("vector %q: want key TAB partitions TAB partition", line)
		}
		n, err1 := strconv.Atoi(f[1])
		p, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil || p < 0 || p >= n {
			t.Fatalf("vector %q: bad numbers", line)
		}
		out = append(out, placement{key: f[0], partitions: n, partition: p})
	}
	return out
}

func loadPlacements(t *testing.T, name string) []placement {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "partitions", name+".tsv"))
	if err != nil {
		t.Fatal(err)
	}
	vs := parsePlacements(t, data)
	if len(vs) < 100 {
		t.Fatalf("%s.tsv: only %d vectors", name, len(vs))
	}
	return vs
}

// TestPartitionersMatchTheirClients checks each partitioner against where the client it copies
// put the keys of testdata/partitions/keys.txt: the Java producer (murmur2), librdkafka (crc32)
// and Sarama (fnv1a). The vectors were printed by those clients (see the files' headers).
func TestPartitionersMatchTheirClients(t *testing.T) {
	for _, name := range []string{PartitionerMurmur2, PartitionerCRC32, PartitionerFNV1a} {
		t.Run(name, func(t *testing.T) {
			b, err := balancer(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range loadPlacements(t, name) {
				ids := make([]int, v.partitions)
				for i := range ids {
					ids[i] = i
				}
				if got := b.Balance(kafka.Message{Key: v.keyBytes()}, ids...); got != v.partition {
					t.Errorf("key %q over %d partitions: partition %d, want %d", v.key, v.partitions, got, v.partition)
				}
			}
		})
	}
}

// TestKafkaSinkPlacesKeysLikeJava writes the keys of the Java vectors for 3 partitions through
// a sink with the default options and checks where the broker stored them; records without a
// key are spread over the partitions.
func TestKafkaSinkPlacesKeysLikeJava(t *testing.T) {
	verifyNoLeaks(t)
	var want []placement
	for _, v := range loadPlacements(t, PartitionerMurmur2) {
		if v.partitions == 3 {
			want = append(want, v)
		}
	}
	kafkatest.ForEachBroker(t, func(t *testing.T, brokers []string) {
		topic := kafkatest.UniqueTopic(t, "placed")
		kafkatest.CreateTopic(t, brokers, topic, 3)
		k := connectSink(t, KafkaOptions{Pipeline: "p", Conn: kafkautil.Conn{Brokers: brokers, DialTimeout: 5 * time.Second}, Topic: topic}, nil)
		var batch []*pipeline.Message
		for _, v := range want {
			batch = append(batch, &pipeline.Message{Key: v.keyBytes(), Value: []byte(v.key)})
		}
		for i := range 30 {
			batch = append(batch, &pipeline.Message{Value: fmt.Appendf(nil, "unkeyed-%d", i)})
		}
		if err := write(t, k, batch); err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		unkeyed := map[int]int{}
		for _, m := range kafkatest.ConsumeN(t, brokers, topic, len(batch), 20*time.Second) {
			if m.Key == nil {
				unkeyed[m.Partition]++
				continue
			}
			got[string(m.Value)] = m.Partition
		}
		for _, v := range want {
			if got[v.key] != v.partition {
				t.Errorf("key %q on partition %d, want %d (the Java producer's)", v.key, got[v.key], v.partition)
			}
		}
		if len(unkeyed) < 2 {
			t.Errorf("30 records without a key all on partitions %v, want them spread", unkeyed)
		}
	})
}

// TestJavaPartitionerVectors runs testdata/partitions/JavaPartitioner.java with Apache Kafka's
// own client jars and checks that it still prints murmur2.tsv. It runs where the suite runs
// Apache Kafka (SEABRIDGE_KAFKA_BROKERS set): scripts/kafka.sh has fetched the jars, and Java is
// there to run the broker.
func TestJavaPartitionerVectors(t *testing.T) {
	kafkatest.Real(t)
	java, err := exec.LookPath("java")
	if err != nil {
		t.Fatalf("java is needed to check the Java partitioner vectors (install Java 17): %v", err)
	}
	cache := os.Getenv("SEABRIDGE_KAFKA_CACHE")
	if cache == "" {
		cache = filepath.Join("..", "..", ".cache", "kafka")
	}
	lib := filepath.Join(cache, "lib")
	if jars, _ := filepath.Glob(filepath.Join(lib, "kafka-clients-*.jar")); len(jars) == 0 {
		t.Fatalf("no kafka-clients jar in %s: run scripts/kafka.sh fetch", lib)
	}
	want := loadPlacements(t, PartitionerMurmur2)
	var counts []string
	for _, v := range want {
		if c := strconv.Itoa(v.partitions); !slices.Contains(counts, c) {
			counts = append(counts, c)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := filepath.Join("testdata", "partitions")
	args := append([]string{"-cp", filepath.Join(lib, "*"), filepath.Join(dir, "JavaPartitioner.java"), filepath.Join(dir, "keys.txt")}, counts...)
	out, err := exec.CommandContext(ctx, java, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("java JavaPartitioner.java: %v\n%s", err, out)
	}
	got := parsePlacements(t, out)
	slices.SortFunc(got, comparePlacements)
	slices.SortFunc(want, comparePlacements)
	if !slices.Equal(got, want) {
		t.Fatalf("the Java producer places keys otherwise than murmur2.tsv says:\n%s", out)
	}
}

func comparePlacements(a, b placement) int {
	if c := strings.Compare(a.key, b.key); c != 0 {
		return c
	}
	return a.partitions - b.partitions
}

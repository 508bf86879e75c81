//go:build reliability

package reliability

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/seabridge/seabridge/internal/testkit/reliability"
)

// Hostile records among good ones, Kafka → stream-sea: one in five is invalid JSON, not
// an object, or breaks the stream's schema (a wrong type, an unknown field), and one is 10 MiB
// (over stream-sea's body limit, and over the dead-letter topic's record limit). Each poison
// record must reach the dead-letter topic (the 10 MiB one with its value omitted, if it does
// not fit) and nothing may stall or be lost.
func TestHostileRecordsKafkaToStreamsea(t *testing.T) {
	const big, huge = 10 << 20, 1001
	sc := suite.Begin(t, reliability.Setup{
		Name: "hostile records", Direction: reliability.KafkaToStreamsea,
		TopicConfigs: map[string]string{"max.message.bytes": strconv.Itoa(16 << 20)},
		Poison:       func(seq int) bool { return seq%20 >= 16 || seq == huge },
		Record: func(seq int) *kgo.Record {
			r := reliability.DefaultRecord(seq)
			switch {
			case seq == huge:
				r.Value = fmt.Appendf(nil, `{"seq":%d,"pad":"%s"}`, seq, strings.Repeat("x", big))
			case seq%20 == 16:
				r.Value = fmt.Appendf(nil, `{"seq":%d,"pad":`, seq) // cut short
			case seq%20 == 17:
				r.Value = fmt.Appendf(nil, `[%d]`, seq)
			case seq%20 == 18:
				r.Value = fmt.Appendf(nil, `{"seq":%d,"pad":12345}`, seq)
			case seq%20 == 19:
				r.Value = fmt.Appendf(nil, `{"seq":%d,"pad":"x","unknown":true}`, seq)
			}
			return r
		},
	})
	sc.StartBridge(sc.Config())
	sc.Publish()
	sc.Finish()
}

// Hostile messages among good ones, stream-sea → Kafka, with mapping.key = "/meta/key": one in
// ten has no meta, one in ten a meta that is a string (the pointer cannot go through it), and
// one is 2 MB (over the Kafka topic's 1 MiB record limit and the dead-letter topic's). Each
// must reach the dead-letter topic and nothing may stall or be lost.
func TestHostileRecordsStreamseaToKafka(t *testing.T) {
	const huge = 1001
	payload := func(seq int) []byte {
		return fmt.Appendf(nil, `{"seq":%d,"meta":{"key":"k-%d"},"pad":"x"}`, seq, seq)
	}
	sc := suite.Begin(t, reliability.Setup{
		Name: "hostile records", Direction: reliability.StreamseaToKafka,
		Poison: func(seq int) bool { return seq%10 == 8 || seq%10 == 9 || seq == huge },
		Payload: func(seq int) []byte {
			switch {
			case seq == huge:
				return fmt.Appendf(nil, `{"seq":%d,"meta":{"key":"k-%d"},"pad":"%s"}`, seq, seq, strings.Repeat("x", 2<<20))
			case seq%10 == 8:
				return fmt.Appendf(nil, `{"seq":%d,"pad":"x"}`, seq)
			case seq%10 == 9:
				return fmt.Appendf(nil, `{"seq":%d,"meta":"flat","pad":"x"}`, seq)
			}
			return payload(seq)
		},
		Check: func(seq int, value []byte) string {
			return reliability.SameJSON(value, payload(seq))
		},
	})
	cfg := sc.Config()
	cfg.Set("pipelines.0.mapping.key", "/meta/key")
	sc.StartBridge(cfg)
	sc.Publish()
	sc.Finish()
}

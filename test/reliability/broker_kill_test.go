//go:build reliability

package reliability

import (
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/testkit/reliability"
)

// Apache Kafka SIGKILLed in the middle of Kafka → stream-sea and started again on its data
// 10 s later: the consumer group resumes from its commits, nothing is lost.
func TestBrokerKilled(t *testing.T) {
	sc := suite.Begin(t, reliability.Setup{Name: "broker SIGKILLed, restarted", Direction: reliability.KafkaToStreamsea,
		RealKafka: true})
	sc.StartBridge(sc.Config())
	sc.Publish()
	sc.WaitSent(sc.Messages / 4)
	sc.Hold("Apache Kafka SIGKILLed", 10*time.Second, func() { sc.Kafka.Kill(t) }, func() { sc.Kafka.Restart(t) })
	sc.Finish()
}

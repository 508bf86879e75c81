// Package kafkatest gives tests a Kafka to talk to and kafka-go helpers to seed and
// inspect it.
//
// Two kinds of broker:
//   - Brokers starts an in-process kfake cluster (franz-go's fake Kafka) on
//     127.0.0.1, one per call, closed by t.Cleanup. Always available, fast.
//   - Real returns the brokers named by SEABRIDGE_KAFKA_BROKERS (a comma list,
//     normally the one scripts/kafka.sh starts) and skips the test when it is unset.
//
// ForEachBroker runs one test body against both, as subtests "kfake" and "kafka",
// so that a behaviour proven on kfake is also proven on Apache Kafka whenever the
// suite runs with a real broker (make test does).
//
// Every helper fails the test (t.Fatal) on error, is bounded in time, and closes
// the connections it opens before returning, so that packages using goleak stay
// clean. Helpers may be called from the test goroutine only.
package kafkatest

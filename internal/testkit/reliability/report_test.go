package reliability

import (
	"strings"
	"testing"
	"time"
)

func TestWriteTable(t *testing.T) {
	var b strings.Builder
	WriteTable(&b, []Result{
		{Scenario: "s2k first run", Direction: StreamseaToKafka, Kafka: "kfake",
			Accounting: Accounting{Sent: 10, Delivered: 8, Lost: 2, LostByServer: ServerLosses{Unrouted: 2}},
			MaxRSS:     30 << 20, Notes: []string{"a note\nover two lines"}},
		{Scenario: "k2s", Direction: KafkaToStreamsea, Kafka: "kafka", Accounting: Accounting{Sent: 5, Delivered: 5, Duplicated: 1},
			Recovery: 1500 * time.Millisecond, HasRecovery: true, Failures: []string{"exit code 0 | want 1"}},
	})
	got := b.String()
	for _, want := range []string{
		"| k2s | Kafka → stream-sea | kafka | 5 | 5 | 1 | 0 | - | 1.5 s | FAIL: exit code 0 \\| want 1 |\n" +
			"| s2k first run | stream-sea → Kafka | kfake | 10 | 8 | 0 | 2 (server: no subscriber 2) | 30 MiB | - | PASS |\n",
		"2 scenarios: 1 passed, 1 failed.",
		"  - a note over two lines\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
}

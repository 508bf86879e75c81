package reliability

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Result is one row of the reliability table: a scenario and its verdict.
type Result struct {
	Scenario  string
	Direction Direction
	Kafka     string // "kfake" or "kafka"
	Accounting
	MaxRSS      uint64        // bytes: the peak resident set of any bridge process of the scenario
	Recovery    time.Duration // see Ledger.Recovery; valid when HasRecovery
	HasRecovery bool
	Failures    []string // why the verdict is FAIL; none means PASS
	Notes       []string // what else was seen (server losses, dead-letter reasons, exit codes)
	Took        time.Duration
}

// Passed is the verdict.
func (r Result) Passed() bool { return len(r.Failures) == 0 }

// VerdictText is "PASS" or "FAIL: reasons".
func (r Result) VerdictText() string {
	if r.Passed() {
		return "PASS"
	}
	return "FAIL: " + strings.Join(r.Failures, "; ")
}

func (r Result) recoveryText() string {
	if !r.HasRecovery {
		return "-"
	}
	return fmt.Sprintf("%.1f s", r.Recovery.Seconds())
}

func mib(b uint64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}

// WriteTable writes the results as a Markdown table, one row per scenario (Kafka →
// stream-sea first, then stream-sea → Kafka, each in the order they ran), then the notes of
// each scenario that has any.
func WriteTable(w io.Writer, results []Result) {
	results = append([]Result(nil), results...)
	sort.SliceStable(results, func(i, j int) bool {
		return results[i].Direction == KafkaToStreamsea && results[j].Direction != KafkaToStreamsea
	})
	fmt.Fprintln(w, "| scenario | direction | kafka | sent | delivered | duplicated | lost (who lost it) | max RSS | recovery | verdict |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---:|---|---:|---:|---|")
	for _, r := range results {
		fmt.Fprintf(w, "| %s | %s | %s | %d | %d | %d | %s | %s | %s | %s |\n",
			r.Scenario, r.Direction, r.Kafka, r.Sent, r.Delivered, r.Duplicated, r.LostText(),
			mib(r.MaxRSS), r.recoveryText(), escapePipes(r.VerdictText()))
	}
	passed := 0
	for _, r := range results {
		if r.Passed() {
			passed++
		}
	}
	fmt.Fprintf(w, "\n%d scenarios: %d passed, %d failed.\n", len(results), passed, len(results)-passed)
	for _, r := range results {
		if len(r.Notes) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s (%s):\n", r.Scenario, r.Took.Round(time.Second))
		for _, n := range r.Notes {
			fmt.Fprintf(w, "  - %s\n", strings.Join(strings.Fields(n), " "))
		}
	}
}

func escapePipes(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

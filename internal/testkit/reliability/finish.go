package reliability

import (
	"fmt"
	"strings"
	"time"

	"github.com/seabridge/seabridge/internal/testkit/faultproxy"
)

// Settling: after the publisher is done, the far side is watched until every sent message
// has arrived (then a grace period for late duplicates), or until nothing new has arrived
// for settleQuiet, or settleLimit has passed.
const (
	settleGrace = 3 * time.Second
	settleQuiet = 15 * time.Second
	settleLimit = 5 * time.Minute
)

// lossReportMarker is in every loss report of the emulator (see its docs).
const lossReportMarker = "stream-sea keeps no backlog"

// Finish waits for the publisher and for the far side to settle, accounts for every numbered
// message, adds the scenario's row to the suite and fails the test when the verdict is FAIL.
// The verdict fails on: any message lost by the bridge that it did not count and log; a
// server-side loss that the server did not count and log (or, in transit at a reset, that
// the bridge did not count as a disconnect); a misrouted or wrong message; a bridge process
// that exited by itself; anything the harness could not observe; and every Expect that
// failed.
func (sc *Scenario) Finish() Result {
	t := sc.T
	t.Helper()
	if sc.Publisher.started.Load() {
		sc.waitPublisher()
		sc.settle()
	} else {
		sc.Ledger = NewLedger(0) // a scenario that ended before any traffic (a config refused)
	}
	sc.kafkaRec.stop()
	if sc.streamRec != nil {
		sc.streamRec.stop()
	}

	sc.noteProxies()
	sc.matchOmittedDeadLetters()
	server := sc.serverLosses()
	var counts BridgeCounts
	var maxRSS uint64
	for _, b := range sc.bridges {
		c := b.Counts(sc.Pipeline, sc.LossMetrics...)
		counts.Nacked += c.Nacked
		counts.Undelivered += c.Undelivered
		counts.Other += c.Other
		counts.Logged = counts.Logged || c.Logged
		maxRSS = max(maxRSS, b.MaxRSS())
	}
	acc := Account(sc.Ledger, server, counts)
	sc.judge(acc, counts)

	r := Result{Scenario: sc.Name, Direction: sc.Direction, Kafka: sc.Kafka.Kind, Accounting: acc, MaxRSS: maxRSS,
		Failures: sc.failures, Notes: sc.notes, Took: time.Since(sc.started)}
	var each []string
	for _, h := range sc.heals {
		if d, ok := sc.Ledger.Recovery(h.at); ok {
			r.HasRecovery = true
			r.Recovery = max(r.Recovery, d)
			each = append(each, fmt.Sprintf("%s %.1f s", h.what, d.Seconds()))
		}
	}
	if len(each) > 1 {
		r.Notes = append(r.Notes, "recovery after each fault: "+strings.Join(each, ", "))
	}
	sc.Suite.add(r)
	sc.finished = true
	t.Logf("%s: sent %d, delivered %d, duplicated %d, lost %s, max RSS %s, recovery %s: %s",
		r.Scenario, r.Sent, r.Delivered, r.Duplicated, r.LostText(), mib(r.MaxRSS), r.recoveryText(), r.VerdictText())
	for _, n := range r.Notes {
		t.Logf("  note: %s", n)
	}
	if !r.Passed() {
		t.Errorf("verdict: %s", r.VerdictText())
	}
	return r
}

func (sc *Scenario) waitPublisher() {
	limit := time.Duration(sc.Messages/max(sc.Rate, 1))*4*time.Second + 2*time.Minute
	select {
	case <-sc.Publisher.Done():
	case <-time.After(limit):
		fails, last := sc.Publisher.Failures()
		sc.failures = append(sc.failures, fmt.Sprintf("harness: the publisher sent %d of %d in %v (%d failed attempts, last: %s)",
			sc.Publisher.Sent(), sc.Messages, limit, fails, last))
		sc.Publisher.Stop()
	}
	if fails, last := sc.Publisher.Failures(); fails > 0 {
		sc.Note("the source refused %d publish attempts (retried); last: %.200s", fails, last)
	}
}

func (sc *Scenario) settle() {
	start := time.Now()
	lastCopies, lastChange := -1, time.Now()
	var complete time.Time
	for time.Since(start) < settleLimit {
		arrived, sent := sc.Ledger.Progress()
		copies := sc.Ledger.Copies()
		if copies != lastCopies {
			lastCopies, lastChange = copies, time.Now()
		}
		if arrived == sent {
			if complete.IsZero() {
				complete = time.Now()
			}
			if time.Since(complete) >= settleGrace {
				return
			}
		} else if time.Since(lastChange) >= settleQuiet {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	sc.Note("the far side was still receiving after %v", settleLimit)
}

// matchOmittedDeadLetters gives dead-letter records whose number is gone (a value omitted
// for its size) to poison messages that arrived nowhere, one each.
func (sc *Scenario) matchOmittedDeadLetters() {
	n := int(sc.kafkaRec.stats.unidentified.Load())
	if n == 0 {
		return
	}
	l := sc.Ledger
	l.Lock()
	matched := 0
	for i := range l.Sent {
		if matched == n {
			break
		}
		if l.Sent[i] && l.Poison[i] && l.Arrived[i]+l.DeadLettered[i] == 0 {
			l.DeadLettered[i]++
			matched++
		}
	}
	l.Unlock()
	sc.Note("%d dead-letter records carry no sequence number (value omitted); %d matched to poison messages found nowhere else", n, matched)
	if matched < n {
		sc.failures = append(sc.failures, fmt.Sprintf("%d dead-letter records that match no message", n-matched))
	}
}

// serverLosses are the stream-sea → Kafka losses the emulator counted (Kafka → stream-sea
// has none: Kafka keeps what it acknowledged).
func (sc *Scenario) serverLosses() ServerLosses {
	var s ServerLosses
	if sc.Direction != StreamseaToKafka {
		return s
	}
	st, err := sc.Emulator.StreamStats(sc.Stream)
	if err != nil {
		sc.failures = append(sc.failures, fmt.Sprintf("harness: emulator stats: %v", err))
		return s
	}
	s.Unrouted, s.Dropped = int(st.Unrouted), int(st.Dropped)
	received := 0
	for _, b := range sc.bridges {
		for _, m := range b.LastMetrics() {
			if m != nil {
				received += int(m.Sum("seabridge_streamsea_received_messages_total", fmt.Sprintf("pipeline=%q", sc.Pipeline)))
			}
		}
	}
	if (sc.AllowTransit || sc.KillsBridge) && int(st.Delivered) > received {
		s.Transit = int(st.Delivered) - received
	}
	if st.Published != st.Delivered || int(st.Delivered) != received {
		sc.Note("stream-sea: published %d, written to the bridge's sockets %d, dropped %d, unrouted (no subscriber) %d; the bridge received %d",
			st.Published, st.Delivered, st.Dropped, st.Unrouted, received)
	}
	return s
}

// judge turns the accounting into failures and notes.
func (sc *Scenario) judge(a Accounting, counts BridgeCounts) {
	fail := func(format string, args ...any) { sc.failures = append(sc.failures, fmt.Sprintf(format, args...)) }
	if a.LostByBridgeSilent > 0 {
		fail("%d never delivered and counted by nothing (seq %s)", a.LostByBridgeSilent, sc.Ledger.LostRanges(6))
		sc.noteStall()
	}
	if a.LostByBridgeCounted > 0 {
		sc.Note("%d given up on by the bridge, counted (nacked %d, undelivered %d, other %d) and logged", a.LostByBridgeCounted,
			counts.Nacked, counts.Undelivered, counts.Other)
	}
	if a.LostByServer.Unrouted+a.LostByServer.Dropped > 0 {
		logs := strings.Join(sc.Emulator.Logs(), "\n")
		if !strings.Contains(logs, lossReportMarker) || !strings.Contains(logs, sc.Stream) {
			fail("%d lost by stream-sea (no subscriber or dropped) without a log line of the server", a.LostByServer.Unrouted+a.LostByServer.Dropped)
		}
	}
	if a.LostByServer.Transit > 0 && !sc.KillsBridge && !sc.bridgeSawDisconnect() {
		fail("%d lost in flight at a reset without a disconnect counted and logged by the bridge", a.LostByServer.Transit)
	}
	if a.Misrouted > 0 {
		fail("%d misrouted (poison at the sink, or good messages only in the dead-letter topic)", a.Misrouted)
	}
	if a.Wrong > 0 {
		fail("%d arrived with wrong content (%s)", a.Wrong, a.FirstWrong)
	}
	if n := sc.kafkaRec.outOfOrder.Load(); n > 0 && sc.CheckOrder {
		fail("%d messages arrived out of order (first: %s)", n, *sc.kafkaRec.example.Load())
	}
	if a.Unsent > 0 {
		fail("harness: %d messages were never accepted by the source", a.Unsent)
	}
	for _, rs := range []*recorderStats{&sc.kafkaRec.stats, sc.streamStats()} {
		if rs == nil {
			continue
		}
		if n := rs.foreign.Load(); n > 0 {
			fail("%d messages at the far side that were never sent (e.g. %s)", n, rs.example)
		}
		if n := rs.gaps.Load(); n > 0 {
			fail("harness: the stream-sea recorder lost its subscription %d times", n)
		}
	}
	if sc.Direction == KafkaToStreamsea {
		if st, err := sc.Emulator.StreamStats(sc.Stream); err == nil && st.Dropped > 0 {
			fail("harness: stream-sea dropped %d messages for the recorder", st.Dropped)
		}
	}
	if reasons := sc.kafkaRec.stats.reasonsText(); reasons != "" {
		sc.Note("dead-letter reasons: %.600s", reasons)
	}
	for _, b := range sc.bridges {
		for _, e := range b.unexpectedExits() {
			fail("%s", e)
		}
	}
}

// noteStall notes what the bridge still held when the scenario ended: a pipeline that
// stalls shows messages in flight (and, from Kafka, uncommitted) long after its input ended.
func (sc *Scenario) noteStall() {
	label := fmt.Sprintf("pipeline=%q", sc.Pipeline)
	for _, b := range sc.bridges {
		if b.current().proc.Exited() {
			continue
		}
		m, err := b.Metrics()
		if err != nil {
			continue
		}
		if n := m.Sum("seabridge_pipeline_in_flight_messages", label); n > 0 {
			sc.Note("%s still holds %.0f messages in flight %v after the last was sent: the pipeline stalled (retries %.0f, dead-letter errors %.0f)",
				b.Name, n, time.Since(sc.Publisher.doneAt()).Round(time.Second), m.Sum("seabridge_pipeline_retries_total", label),
				m.Sum("seabridge_pipeline_errors_total", label, `stage="dead_letter"`))
		}
	}
}

// noteProxies notes what the fault proxies did to the bridge's connections during the scenario.
func (sc *Scenario) noteProxies() {
	note := func(what string, p *faultproxy.Proxy, before faultproxy.Stats) {
		st := p.Stats()
		accepted, reset, dialErrs := st.Accepted-before.Accepted, st.Reset-before.Reset, st.DialErrs-before.DialErrs
		if reset+dialErrs > 0 {
			sc.Note("%s proxy: %d connections accepted, %d reset, %d closed for want of the upstream", what, accepted, reset, dialErrs)
		}
	}
	note("stream-sea", sc.Emulator.Proxy, sc.proxies0[0])
	if sc.Kafka.Proxy != nil {
		note("Kafka", sc.Kafka.Proxy, sc.proxies0[1])
	}
}

func (sc *Scenario) streamStats() *recorderStats {
	if sc.streamRec == nil {
		return nil
	}
	return &sc.streamRec.stats
}

// bridgeSawDisconnect reports whether some bridge counted a lost websocket connection in its
// metrics and logged it.
func (sc *Scenario) bridgeSawDisconnect() bool {
	for _, b := range sc.bridges {
		scrapes, logs := b.LastMetrics(), b.Stderr()
		for i := range scrapes {
			if scrapes[i] != nil && scrapes[i].Sum("seabridge_streamsea_ws_disconnects_total", fmt.Sprintf("pipeline=%q", sc.Pipeline)) > 0 &&
				strings.Contains(logs[i], "reconnecting") {
				return true
			}
		}
	}
	return false
}

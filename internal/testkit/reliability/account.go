package reliability

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Ledger is what happened to each numbered message of a scenario, indexed by its sequence
// number. The publisher fills Sent and SentAt, the recorders Arrived, DeadLettered, Wrong
// and FirstAt; the scenario marks the messages it expects to be dead-lettered in Poison.
// Publishers and recorders update it through its methods, which are safe for concurrent
// use; the fields are read once the scenario is over, or under Lock.
type Ledger struct {
	sync.Mutex
	Sent         []bool      // accepted by the source server (stream-sea 200, Kafka ack)
	SentAt       []time.Time // when the source server accepted it
	Poison       []bool      // expected in the dead-letter topic, not at the sink
	Arrived      []int       // copies seen at the sink
	DeadLettered []int       // copies seen in the dead-letter topic
	Wrong        []string    // why the first wrong copy at the sink was wrong ("" when right)
	FirstAt      []time.Time // when the first copy reached the sink or the dead-letter topic
}

// NewLedger makes a ledger for sequence numbers 0..n-1.
func NewLedger(n int) *Ledger {
	return &Ledger{
		Sent: make([]bool, n), SentAt: make([]time.Time, n), Poison: make([]bool, n),
		Arrived: make([]int, n), DeadLettered: make([]int, n), Wrong: make([]string, n),
		FirstAt: make([]time.Time, n),
	}
}

// Len is the number of sequence numbers the ledger holds.
func (l *Ledger) Len() int { return len(l.Sent) }

// MarkSent records that the source accepted seq at t.
func (l *Ledger) MarkSent(seq int, t time.Time) {
	l.Lock()
	defer l.Unlock()
	if seq >= 0 && seq < len(l.Sent) && !l.Sent[seq] {
		l.Sent[seq], l.SentAt[seq] = true, t
	}
}

// Arrive records a copy of seq at the sink at t; wrong says what is wrong with its content
// ("" when it is as expected). It reports false for a number outside the ledger.
func (l *Ledger) Arrive(seq int, t time.Time, wrong string) bool {
	_, ok := l.arrive(seq, t, wrong)
	return ok
}

// arrive is Arrive that also reports whether this was the first copy of seq.
func (l *Ledger) arrive(seq int, t time.Time, wrong string) (first, ok bool) {
	l.Lock()
	defer l.Unlock()
	if seq < 0 || seq >= len(l.Sent) {
		return false, false
	}
	first = l.Arrived[seq] == 0
	l.Arrived[seq]++
	if wrong != "" && l.Wrong[seq] == "" {
		l.Wrong[seq] = wrong
	}
	l.first(seq, t)
	return first, true
}

// DeadLetter records a copy of seq in the dead-letter topic at t.
func (l *Ledger) DeadLetter(seq int, t time.Time) bool {
	l.Lock()
	defer l.Unlock()
	if seq < 0 || seq >= len(l.Sent) {
		return false
	}
	l.DeadLettered[seq]++
	l.first(seq, t)
	return true
}

func (l *Ledger) first(seq int, t time.Time) {
	if l.FirstAt[seq].IsZero() {
		l.FirstAt[seq] = t
	}
}

// Progress returns how many distinct sent messages have arrived anywhere, and how many were sent.
func (l *Ledger) Progress() (arrived, sent int) {
	l.Lock()
	defer l.Unlock()
	for i := range l.Sent {
		if l.Sent[i] {
			sent++
			if l.Arrived[i]+l.DeadLettered[i] > 0 {
				arrived++
			}
		}
	}
	return arrived, sent
}

// Copies returns the number of copies seen anywhere, every message together.
func (l *Ledger) Copies() int {
	l.Lock()
	defer l.Unlock()
	n := 0
	for i := range l.Arrived {
		n += l.Arrived[i] + l.DeadLettered[i]
	}
	return n
}

// ServerLosses are the messages the source server itself did not hand to the bridge, as the
// server counts them (stream-sea → Kafka only: Kafka keeps what it acknowledged). stream-sea
// has no acks and no replay, so these are lost by the protocol, not by the bridge.
type ServerLosses struct {
	Unrouted int // published while no subscriber of the stream was connected
	Dropped  int // given up by the server: a subscriber's queue full, or its connection gone
	// Transit is what the server wrote to a connection that then broke before the bridge
	// read it (server-delivered minus bridge-received); only scenarios that break
	// connections on purpose set it.
	Transit int
}

// Total is every server-side loss.
func (s ServerLosses) Total() int { return s.Unrouted + s.Dropped + s.Transit }

// BridgeCounts is what the bridge itself reported about messages it gave up on.
type BridgeCounts struct {
	Nacked      int  // seabridge_pipeline_messages_nacked_total, every lifetime
	Undelivered int  // seabridge_streamsea_undelivered_messages_total, every lifetime
	Other       int  // the scenario's Setup.LossMetrics, every lifetime
	Logged      bool // a log line named the losses
}

// Counted is every loss the bridge counted.
func (b BridgeCounts) Counted() int { return b.Nacked + b.Undelivered + b.Other }

// Accounting is the summary of a ledger, with each loss attributed.
type Accounting struct {
	Sent       int // distinct messages the source accepted
	Delivered  int // distinct messages that reached where they belong (sink, or dead-letter topic for poison)
	Duplicated int // copies beyond the first, sink and dead-letter topic together
	Lost       int // sent and found nowhere
	Misrouted  int // poison at the sink, or good messages in the dead-letter topic
	Wrong      int // reached the sink with content other than expected
	Unsent     int // numbered but never accepted by the source (the publisher stopped early)

	LostByServer        ServerLosses // part of Lost, as the server counted it
	LostByBridgeCounted int          // part of Lost that the bridge counted (metric and log line)
	LostByBridgeSilent  int          // part of Lost nobody counted: always a failure

	FirstWrong string // one example of a wrong message, for the report
}

// Account summarises the ledger and attributes its losses: first to the server, up to what
// the server counted, then to the bridge's own counts (only when a log line named them), and
// the rest to nobody (silent).
func Account(l *Ledger, server ServerLosses, bridge BridgeCounts) Accounting {
	l.Lock()
	defer l.Unlock()
	var a Accounting
	for i := range l.Sent {
		if !l.Sent[i] {
			a.Unsent++
			continue
		}
		a.Sent++
		total := l.Arrived[i] + l.DeadLettered[i]
		if total == 0 {
			a.Lost++
			continue
		}
		a.Duplicated += total - 1
		switch {
		case l.Poison[i] && l.Arrived[i] > 0, !l.Poison[i] && l.DeadLettered[i] > 0 && l.Arrived[i] == 0:
			a.Misrouted++
		case l.Wrong[i] != "":
			a.Wrong++
			if a.FirstWrong == "" {
				a.FirstWrong = fmt.Sprintf("seq %d: %s", i, l.Wrong[i])
			}
		default:
			a.Delivered++
		}
	}
	rest := a.Lost
	a.LostByServer, rest = server.attribute(rest)
	if bridge.Logged {
		a.LostByBridgeCounted = min(rest, bridge.Counted())
		rest -= a.LostByBridgeCounted
	}
	a.LostByBridgeSilent = rest
	return a
}

// attribute takes up to lost messages out of the server's counts, unrouted first.
func (s ServerLosses) attribute(lost int) (ServerLosses, int) {
	var out ServerLosses
	out.Unrouted = min(lost, s.Unrouted)
	lost -= out.Unrouted
	out.Dropped = min(lost, s.Dropped)
	lost -= out.Dropped
	out.Transit = min(lost, s.Transit)
	lost -= out.Transit
	return out, lost
}

// LostText is the lost column: the number and who lost it.
func (a Accounting) LostText() string {
	if a.Lost == 0 {
		return "0"
	}
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", what, n))
		}
	}
	add(a.LostByServer.Unrouted, "server: no subscriber")
	add(a.LostByServer.Dropped, "server: dropped")
	add(a.LostByServer.Transit, "network: in flight at a reset")
	add(a.LostByBridgeCounted, "bridge, counted")
	add(a.LostByBridgeSilent, "bridge, silent")
	return fmt.Sprintf("%d (%s)", a.Lost, strings.Join(parts, ", "))
}

// Recovery is how long after the fault healed the pipeline was whole again: every message
// sent before the heal that arrived at all had arrived, and the first message sent after the
// heal had arrived. It returns false when nothing was sent after the heal or nothing arrived.
func (l *Ledger) Recovery(heal time.Time) (time.Duration, bool) {
	l.Lock()
	defer l.Unlock()
	var lastBefore, firstAfterSent, firstAfterArrived time.Time
	for i := range l.Sent {
		if !l.Sent[i] || l.FirstAt[i].IsZero() {
			continue
		}
		if l.SentAt[i].Before(heal) {
			if l.FirstAt[i].After(lastBefore) {
				lastBefore = l.FirstAt[i]
			}
			continue
		}
		if firstAfterSent.IsZero() || l.SentAt[i].Before(firstAfterSent) {
			firstAfterSent, firstAfterArrived = l.SentAt[i], l.FirstAt[i]
		}
	}
	if firstAfterSent.IsZero() {
		return 0, false
	}
	end := firstAfterArrived
	if lastBefore.After(end) {
		end = lastBefore
	}
	if end.Before(heal) {
		return 0, true
	}
	return end.Sub(heal), true
}

// LostRanges describes which sequence numbers were lost, compactly (e.g. "100-180, 512"),
// listing at most limit ranges.
func (l *Ledger) LostRanges(limit int) string {
	l.Lock()
	defer l.Unlock()
	var lost []int
	for i := range l.Sent {
		if l.Sent[i] && l.Arrived[i]+l.DeadLettered[i] == 0 {
			lost = append(lost, i)
		}
	}
	return ranges(lost, limit)
}

func ranges(seqs []int, limit int) string {
	sort.Ints(seqs)
	var parts []string
	for i := 0; i < len(seqs); {
		j := i
		for j+1 < len(seqs) && seqs[j+1] == seqs[j]+1 {
			j++
		}
		if len(parts) == limit {
			parts = append(parts, "...")
			break
		}
		if i == j {
			parts = append(parts, fmt.Sprint(seqs[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", seqs[i], seqs[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

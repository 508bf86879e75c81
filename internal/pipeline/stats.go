package pipeline

import "sync/atomic"

// Stats is a snapshot of one runner's counters, for progress lines and tests. Message counts
// follow the metrics of the same names.
type Stats struct {
	In           uint64 // source messages read
	Out          uint64 // messages written to the sink
	Filtered     uint64 // source messages the mapper filtered out
	DeadLettered uint64 // messages written to the dead-letter destination
	Dropped      uint64 // poison messages dropped
	Nacked       uint64 // source messages nacked
	Undelivered  uint64 // messages the source received and never handed over (UndeliveredReporter)
	Errors       uint64 // errors of every stage
	Retries      uint64
	Reconnects   uint64 // both sides
	InFlight     int64  // source messages read and not yet settled
	Ready        bool
}

// counters back Stats; they are updated once per batch where possible.
type counters struct {
	in, out, filtered, deadLettered, dropped, nacked atomic.Uint64
	errors, retries, reconnects                      atomic.Uint64
	inFlight                                         atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		In:           c.in.Load(),
		Out:          c.out.Load(),
		Filtered:     c.filtered.Load(),
		DeadLettered: c.deadLettered.Load(),
		Dropped:      c.dropped.Load(),
		Nacked:       c.nacked.Load(),
		Errors:       c.errors.Load(),
		Retries:      c.retries.Load(),
		Reconnects:   c.reconnects.Load(),
		InFlight:     c.inFlight.Load(),
	}
}

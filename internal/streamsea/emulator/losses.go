package emulator

import "time"

// lossReportInterval is how often the server logs messages it could not deliver.
const lossReportInterval = 5 * time.Second

// lossCounts are the counters of one stream at the last loss report.
type lossCounts struct{ unrouted, dropped uint64 }

// reportLosses logs the losses of every stream every lossReportInterval until Close. Close
// logs a last report once every connection is gone.
func (s *Server) reportLosses() {
	defer s.wg.Done()
	tick := time.NewTicker(lossReportInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
			s.logLosses()
		}
	}
}

// logLosses writes one warning per stream whose unrouted or dropped count grew since the
// last report: stream-sea keeps no backlog, so each of those messages is lost to someone.
func (s *Server) logLosses() {
	s.lossMu.Lock()
	defer s.lossMu.Unlock()
	for _, st := range s.reg.allStreams() {
		now := lossCounts{unrouted: st.unrouted.Load(), dropped: st.dropped.Load()}
		last := s.lossReported[st]
		if now == last {
			continue
		}
		s.lossReported[st] = now
		s.log.Warn("messages not delivered (stream-sea keeps no backlog): unrouted were published while the stream had no subscriber, dropped were queued for a subscriber that was too slow or went away",
			"jail", st.jailID, "stream", st.name,
			"unrouted", now.unrouted-last.unrouted, "dropped", now.dropped-last.dropped,
			"unrouted_total", now.unrouted, "dropped_total", now.dropped)
	}
}

package emulator

// Stats is a snapshot of the server's counters, served as JSON at GET /emulator/stats.
type Stats struct {
	Connections   int           `json:"connections"`   // open websocket connections
	Subscriptions int           `json:"subscriptions"` // live subscriptions, all streams
	Streams       []StreamStats `json:"streams"`       // sorted by jail, then stream
	// ClientClosed counts the connections a client ended with a close frame (the closing
	// handshake, which the server answers); ClientAborted those that ended without one and
	// not by the server (a client that dropped its TCP connection, seen by the server as
	// 1006, or stopped answering pings). Connections the server ended count in neither.
	ClientClosed  uint64 `json:"clientClosed"`
	ClientAborted uint64 `json:"clientAborted"`
}

// StreamStats counts messages (batch elements count one each) of one stream. Every message
// handed to a connection ends up delivered (written to the socket) or dropped (queue full,
// connection gone or closed before it was written). A message published while the stream
// has no subscription at all is unrouted: nobody receives it.
type StreamStats struct {
	Jail          string `json:"jail"`
	Stream        string `json:"stream"`
	HasSchema     bool   `json:"hasSchema"`
	Published     uint64 `json:"published"`
	Delivered     uint64 `json:"delivered"`
	Dropped       uint64 `json:"dropped"`
	Unrouted      uint64 `json:"unrouted"`
	Subscriptions int    `json:"subscriptions"`
}

// Stats returns the current counters. Safe to call at any time, also after Close.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	out := Stats{Connections: len(s.conns), Streams: []StreamStats{},
		ClientClosed: s.clientClosed.Load(), ClientAborted: s.clientAborted.Load()}
	s.mu.Unlock()
	for _, st := range s.reg.allStreams() {
		ss := StreamStats{
			Jail: st.jailID, Stream: st.name, HasSchema: st.definition() != nil,
			Published: st.published.Load(), Delivered: st.delivered.Load(), Dropped: st.dropped.Load(),
			Unrouted:      st.unrouted.Load(),
			Subscriptions: st.subscriptionCount(),
		}
		out.Subscriptions += ss.Subscriptions
		out.Streams = append(out.Streams, ss)
	}
	return out
}

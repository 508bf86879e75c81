package bridge

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/seabridge/seabridge/internal/config"
	"github.com/seabridge/seabridge/internal/observe"
	"github.com/seabridge/seabridge/internal/pipeline"
)

// PipelineStatus is one pipeline as GET /pipelines shows it. It holds no secret: connections
// are shown by name and address (addresses carry no credentials: the config refuses them).
type PipelineStatus struct {
	Name       string           `json:"name"`
	Direction  string           `json:"direction"`
	State      string           `json:"state"` // pipeline.State*
	Ready      bool             `json:"ready"`
	Source     EndpointStatus   `json:"source"`
	Sink       EndpointStatus   `json:"sink"`
	DeadLetter DeadLetterStatus `json:"dead_letter"`
	LastError  *string          `json:"last_error"`    // null when none yet
	LastAt     *time.Time       `json:"last_error_at"` // null when none yet
	Counters   PipelineCounters `json:"counters"`
	InFlight   int64            `json:"in_flight"`
	Lag        *int64           `json:"lag"` // Kafka sources: consumer-group lag at the last scrape; else null
}

// EndpointStatus describes a pipeline's source or sink.
type EndpointStatus struct {
	Type       string   `json:"type"` // "kafka" or "streamsea"
	Connection string   `json:"connection"`
	Servers    []string `json:"servers"` // Kafka brokers, or the stream-sea base URL
	Topics     []string `json:"topics,omitempty"`
	Streams    []string `json:"streams,omitempty"`
	GroupID    string   `json:"group_id,omitempty"`
	// Route is the mapping's topic or stream template, when messages choose their own.
	Route string `json:"route,omitempty"`
}

// DeadLetterStatus describes where a pipeline's poison messages go.
type DeadLetterStatus struct {
	Policy     string   `json:"policy"` // dlq, drop or stop
	Connection string   `json:"connection,omitempty"`
	Servers    []string `json:"servers,omitempty"`
	Topic      string   `json:"topic,omitempty"`
}

// PipelineCounters are the message counts of a pipeline since it started, as in its
// seabridge_pipeline_* metrics.
type PipelineCounters struct {
	In           uint64 `json:"in"`
	Out          uint64 `json:"out"`
	Filtered     uint64 `json:"filtered"`
	DeadLettered uint64 `json:"dead_lettered"`
	Dropped      uint64 `json:"dropped"`
	Nacked       uint64 `json:"nacked"`
	Undelivered  uint64 `json:"undelivered"`
	Errors       uint64 `json:"errors"`
	Retries      uint64 `json:"retries"`
	Reconnects   uint64 `json:"reconnects"`
}

// describe builds the parts of a pipeline's status that follow from its config.
func describe(cfg *config.Config, p config.Pipeline) PipelineStatus {
	st := PipelineStatus{Name: p.Name}
	st.Source = endpointStatus(cfg, p.Source.Type, p.Source.Connection)
	st.Source.Topics, st.Source.Streams, st.Source.GroupID = p.Source.Topics, p.Source.Streams, p.Source.GroupID
	st.Sink = endpointStatus(cfg, p.Sink.Type, p.Sink.Connection)
	switch p.Sink.Type {
	case config.EndpointKafka:
		st.Direction = pipeline.DirectionStreamSeaToKafka
		if p.Sink.Topic != "" {
			st.Sink.Topics = []string{p.Sink.Topic}
		}
		st.Sink.Route = p.Mapping.Topic
	case config.EndpointStreamsea:
		st.Direction = pipeline.DirectionKafkaToStreamSea
		if p.Sink.Stream != "" {
			st.Sink.Streams = []string{p.Sink.Stream}
		}
		st.Sink.Route = p.Mapping.Stream
	}
	st.DeadLetter.Policy = p.DeadLetter.Policy
	if p.DeadLetter.Policy == config.PolicyDLQ {
		dl := endpointStatus(cfg, config.EndpointKafka, p.DeadLetter.Connection)
		st.DeadLetter.Connection, st.DeadLetter.Servers, st.DeadLetter.Topic = dl.Connection, dl.Servers, p.DeadLetter.Topic
	}
	return st
}

func endpointStatus(cfg *config.Config, t config.Endpoint, conn string) EndpointStatus {
	e := EndpointStatus{Type: string(t), Connection: conn}
	switch t {
	case config.EndpointKafka:
		e.Servers = cfg.Kafka[conn].Brokers
	case config.EndpointStreamsea:
		if u := cfg.Streamsea[conn].URL; u != "" {
			e.Servers = []string{u}
		}
	}
	return e
}

// status fills in the live parts of a pipeline's status.
func (p *builtPipeline) status() PipelineStatus {
	st := p.describe
	rs := p.runner.Status()
	s := p.runner.Stats()
	st.State, st.Ready = rs.State, s.Ready
	if rs.LastError != "" {
		text, at := rs.LastError, rs.LastErrorAt
		st.LastError, st.LastAt = &text, &at
	}
	st.Counters = PipelineCounters{
		In: s.In, Out: s.Out, Filtered: s.Filtered, DeadLettered: s.DeadLettered, Dropped: s.Dropped,
		Nacked: s.Nacked, Undelivered: s.Undelivered, Errors: s.Errors, Retries: s.Retries, Reconnects: s.Reconnects,
	}
	st.InFlight = s.InFlight
	if p.lag != nil {
		if lag, ok := p.lag.Lag(p.name); ok {
			st.Lag = &lag
		}
	}
	return st
}

// Pipelines returns the status of every pipeline present, in config order (while a reload
// replaces one, both the old one, stopping, and the new one).
func (a *App) Pipelines() []PipelineStatus {
	pipes := a.current()
	out := make([]PipelineStatus, len(pipes))
	for i, u := range pipes {
		out[i] = u.bp.status()
	}
	return out
}

// pipelineRoutes are GET /pipelines and GET /pipelines/{name}.
func (a *App) pipelineRoutes() []observe.Route {
	return []observe.Route{
		{Pattern: "GET /pipelines", Doc: "every pipeline: state, connections, last error, counters, lag (JSON)",
			Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				writeJSON(w, http.StatusOK, struct {
					Pipelines []PipelineStatus `json:"pipelines"`
				}{a.Pipelines()})
			})},
		{Pattern: "GET /pipelines/{name}", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			name := r.PathValue("name")
			for _, st := range a.Pipelines() {
				if st.Name == name {
					writeJSON(w, http.StatusOK, st)
					return
				}
			}
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no pipeline named " + name})
		})},
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

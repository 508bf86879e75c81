package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/seabridge/seabridge/internal/streamsea"
)

// publishBody is the body of a publish call.
type publishBody struct {
	Payload json.RawMessage `json:"payload"`
}

func (s *Server) handlePublish(w http.ResponseWriter, r *http.Request, caller clientRecord) {
	var body publishBody
	if !s.decodeBody(w, r, &body) {
		return
	}
	if body.Payload == nil {
		writeError(w, http.StatusBadRequest, `the body must be {"payload": <object or array of objects>}`, nil)
		return
	}
	name := r.PathValue("stream")
	st := s.reg.stream(caller.jailID, name, true)
	if st == nil {
		writeError(w, http.StatusNotFound, "the jail of this client no longer exists", nil)
		return
	}
	p, problems := newPublication(st, body.Payload)
	if len(problems) > 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("The payload does not match the schema of stream %q", name), problems)
		return
	}
	if err := s.publish(p); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"published": p.count()})
}

// newPublication parses and validates a payload against the stream's schema, if any. All or
// nothing: any problem in any element rejects the whole publication.
func newPublication(st *stream, raw json.RawMessage) (*publication, []string) {
	elems, err := parsePayload(raw)
	if err != nil {
		return nil, []string{err.Error()}
	}
	p := &publication{stream: st, raw: raw, elems: elems}
	def := st.definition()
	if def == nil {
		return p, nil
	}
	var problems []string
	for i, e := range p.elements() {
		prefix := "payload"
		if elems != nil {
			prefix = fmt.Sprintf("payload[%d]", i)
		}
		problems = append(problems, validatePayload(def.validator, e, prefix)...)
	}
	return p, problems
}

// publish counts and fans out an accepted publication.
func (s *Server) publish(p *publication) error {
	p.stream.published.Add(uint64(p.count()))
	if p.count() == 0 {
		return nil
	}
	w := &blockWaiter{timeout: s.opts.BlockTimeout}
	defer w.stop()
	return p.stream.fanOut(p, w)
}

func (s *Server) handleDefine(w http.ResponseWriter, r *http.Request, caller clientRecord) {
	data, ok := s.readBody(w, r)
	if !ok {
		return
	}
	name := r.PathValue("stream")
	def, problems, err := parseDefinition(data, name)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), problems)
		return
	}
	st := s.reg.stream(caller.jailID, name, true)
	if st == nil {
		writeError(w, http.StatusNotFound, "the jail of this client no longer exists", nil)
		return
	}
	stored, changed, err := st.define(def)
	if err != nil {
		writeErr(w, err)
		return
	}
	if changed && !s.persisted(w) {
		return
	}
	writeJSON(w, http.StatusOK, stored)
}

func (s *Server) handleDescribe(w http.ResponseWriter, r *http.Request, caller clientRecord) {
	name := r.PathValue("stream")
	st := s.reg.stream(caller.jailID, name, false)
	var def *schemaState
	if st != nil {
		def = st.definition()
	}
	if def == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Stream %q has no schema definition", name), nil)
		return
	}
	writeJSON(w, http.StatusOK, def.def)
}

func (s *Server) handleVersionsVector(w http.ResponseWriter, r *http.Request, caller clientRecord) {
	var body struct {
		SchemaNames []string `json:"schemaNames"`
	}
	if !s.decodeBody(w, r, &body) {
		return
	}
	if body.SchemaNames == nil {
		writeError(w, http.StatusBadRequest, `the body must be {"schemaNames": [...]}`, nil)
		return
	}
	out := make([]*streamsea.Version, len(body.SchemaNames))
	for i, name := range body.SchemaNames {
		if st := s.reg.stream(caller.jailID, name, false); st != nil {
			if def := st.definition(); def != nil {
				v := def.def.Version
				out[i] = &v
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"versionsVector": out})
}

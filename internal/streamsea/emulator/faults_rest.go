package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// faultRequest is the JSON body of POST /emulator/faults: a Fault with its durations as Go
// duration strings ("250ms", "10s") and retryAfter as seconds (a number) or a header value.
type faultRequest struct {
	Kind       string          `json:"kind"`
	Route      string          `json:"route"`
	Stream     string          `json:"stream"`
	Status     int             `json:"status"`
	RetryAfter json.RawMessage `json:"retryAfter"`
	Message    string          `json:"message"`
	Latency    string          `json:"latency"`
	Duration   string          `json:"duration"`
	Count      int             `json:"count"`
}

func (q faultRequest) fault() (Fault, error) {
	f := Fault{Kind: q.Kind, Route: q.Route, Stream: q.Stream, Status: q.Status, Message: q.Message, Count: q.Count}
	var errs []error
	var err error
	if f.Latency, err = parseFaultDuration("latency", q.Latency); err != nil {
		errs = append(errs, err)
	}
	if f.Duration, err = parseFaultDuration("duration", q.Duration); err != nil {
		errs = append(errs, err)
	}
	if f.RetryAfter, err = parseRetryAfter(q.RetryAfter); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return f, fmt.Errorf("%w: %w", ErrBadFault, err)
	}
	return f, nil
}

func parseFaultDuration(key, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a duration like \"500ms\" or \"10s\"", key, s)
	}
	return d, nil
}

// parseRetryAfter accepts a whole number of seconds or a string sent as is.
func parseRetryAfter(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var n uint64
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", fmt.Errorf("retryAfter %s is neither whole seconds nor a string", raw)
	}
	return strconv.FormatUint(n, 10), nil
}

// faultRoutes mounts the fault admin surface (no authentication, like /emulator/stats).
func (s *Server) faultRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /emulator/faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"faults": s.Faults()})
	})
	mux.HandleFunc("POST /emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		var q faultRequest
		data, ok := s.readBody(w, r)
		if !ok {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&q); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("the body is not a fault: %v", err), nil)
			return
		}
		f, err := q.fault()
		if err == nil {
			var st FaultState
			if st, err = s.AddFault(f); err == nil {
				writeJSON(w, http.StatusCreated, st)
				return
			}
		}
		writeError(w, http.StatusBadRequest, err.Error(), nil)
	})
	mux.HandleFunc("DELETE /emulator/faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]int{"removed": s.ResetFaults()})
	})
	mux.HandleFunc("DELETE /emulator/faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if !s.RemoveFault(id) {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no fault %q in force", id), nil)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"removed": id})
	})
}

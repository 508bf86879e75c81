package emulator

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// authedHandler serves a REST call of an authenticated client.
type authedHandler func(w http.ResponseWriter, r *http.Request, caller clientRecord)

const (
	msgBadCredentials     = "The credentials are present and well formed but invalid."
	msgMissingCredentials = "Missing or malformed credentials: use HTTP Basic authentication with clientId:clientSecret."
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	api := []struct {
		route, pattern string
		h              authedHandler
	}{
		{RoutePublish, "POST /api/v1/streams/{stream}/publish", s.handlePublish},
		{RouteDefine, "POST /api/v1/streams/{stream}/define", s.handleDefine},
		{RouteDescribe, "GET /api/v1/streams/{stream}/schema", s.handleDescribe},
		{RouteVersions, "POST /api/v1/schema-versions-vector", s.handleVersionsVector},
		{RouteClient, "POST /api/v1/client", s.handleCreateClient},
		{RouteClient, "DELETE /api/v1/client/{id}", s.handleDeleteClient},
		{RouteClient, "PUT /api/v1/client/{id}", s.handleRotateSecret},
		{RouteClient, "PUT /api/v1/client/{id}/jwt-public-key", s.handleSetJWTKey},
		{RouteJails, "POST /api/v1/jails", s.handleCreateJail},
		{RouteJails, "DELETE /api/v1/jails/{id}", s.handleDeleteJail},
	}
	for _, a := range api {
		mux.Handle(a.pattern, s.tracked(s.faulted(a.route, s.authenticated(a.h))))
	}
	mux.Handle("GET /api/v1/streams", s.tracked(s.faulted(RouteWebsocket, http.HandlerFunc(s.serveWebsocket))))
	s.faultRoutes(mux)
	mux.HandleFunc("GET /emulator/stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("GET /emulator/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path), nil)
	})
	return mux
}

// authenticated checks HTTP Basic credentials before calling h.
func (s *Server) authenticated(h authedHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok {
			writeError(w, http.StatusUnauthorized, msgMissingCredentials, nil)
			return
		}
		caller, ok := s.reg.authenticate(id, secret)
		if !ok {
			writeError(w, http.StatusUnauthorized, msgBadCredentials, nil)
			return
		}
		h(w, r, caller)
	})
}

// errorBody is the JSON body of every error answer.
type errorBody struct {
	Message string   `json:"message"`
	Errors  []string `json:"errors,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"message":"cannot encode the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeError(w http.ResponseWriter, status int, msg string, errs []string) {
	writeJSON(w, status, errorBody{Message: msg, Errors: errs})
}

// writeErr answers with the status of the error's sentinel.
func writeErr(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, errBadRequest):
		status = http.StatusBadRequest
	case errors.Is(err, errNotFound), errors.Is(err, errUnknownJail):
		status = http.StatusNotFound
	case errors.Is(err, errConflict):
		status = http.StatusConflict
	case errors.Is(err, errPublishTimeout):
		status = http.StatusServiceUnavailable
	}
	msg := err.Error()
	for _, sentinel := range []error{errBadRequest, errNotFound, errConflict} {
		msg = strings.TrimPrefix(msg, sentinel.Error()+": ")
	}
	writeError(w, status, msg, nil)
}

// readBody reads a request body, gunzipping it when Content-Encoding is gzip. It answers the
// request itself (413, 400 or 415) and returns false when the body is unusable.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	limit := s.opts.MaxBodyBytes
	var body io.Reader = http.MaxBytesReader(w, r.Body, limit)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			s.bodyError(w, err)
			return nil, false
		}
		defer zr.Close()
		body = zr
	default:
		writeError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("unsupported Content-Encoding %q", enc), nil)
		return nil, false
	}
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		s.bodyError(w, err)
		return nil, false
	}
	if int64(len(data)) > limit {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body exceeds %d bytes", limit), nil)
		return nil, false
	}
	return data, true
}

func (s *Server) bodyError(w http.ResponseWriter, err error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body exceeds %d bytes", tooBig.Limit), nil)
		return
	}
	writeError(w, http.StatusBadRequest, fmt.Sprintf("cannot read the request body: %v", err), nil)
}

// decodeBody reads the body and decodes it as JSON into v, answering 4xx itself on failure.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	data, ok := s.readBody(w, r)
	if !ok {
		return false
	}
	if err := json.Unmarshal(data, v); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("the request body is not valid JSON for this operation: %v", err), nil)
		return false
	}
	return true
}

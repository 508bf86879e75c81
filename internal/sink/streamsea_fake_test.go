package sink

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/seabridge/seabridge/internal/streamsea"
)

const (
	fakeClientID     = "bridge"
	fakeClientSecret = "secret"
)

// fakeStreamSea is an httptest stand-in for the four endpoints the sink uses. It checks paths,
// methods, basic auth and the gzip encoding of every request exactly. A publish whose payload
// holds an object with "bad": true is refused whole with 400, as a server refuses a batch in
// which one message does not match the schema.
type fakeStreamSea struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	schemas   map[string]*streamsea.Schema
	published map[string][]string // stream -> payloads accepted, in order
	requests  []fakePublish       // every publish request, in order
	defines   int
	failNext  []int // statuses to answer the next publish requests with
	auth      string
}

// fakePublish is one publish request as the fake saw it.
type fakePublish struct {
	Stream   string
	BodySize int // uncompressed
	Count    int
	Status   int
}

func newFakeStreamSea(t *testing.T) *fakeStreamSea {
	t.Helper()
	f := &fakeStreamSea{
		t:         t,
		schemas:   map[string]*streamsea.Schema{},
		published: map[string][]string{},
		auth:      "Basic " + base64.StdEncoding.EncodeToString([]byte(fakeClientID+":"+fakeClientSecret)),
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// client returns a gzip-enabled client for the fake with the given secret.
func (f *fakeStreamSea) client(secret string) *streamsea.Client {
	f.t.Helper()
	c, err := streamsea.NewClient(streamsea.ClientOptions{
		BaseURL: f.srv.URL, ClientID: fakeClientID, ClientSecret: secret, Gzip: true,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(c.CloseIdleConnections)
	return c
}

func (f *fakeStreamSea) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != f.auth {
		writeFakeError(w, 401, "The credentials are present and well formed but invalid.")
		return
	}
	body, ok := f.readBody(w, r)
	if !ok {
		return
	}
	path := r.URL.EscapedPath()
	rest, isStream := strings.CutPrefix(path, "/api/v1/streams/")
	switch {
	case r.Method == http.MethodPost && path == "/api/v1/schema-versions-vector":
		f.versions(w, body)
	case isStream && r.Method == http.MethodPost && strings.HasSuffix(rest, "/publish"):
		f.publish(w, strings.TrimSuffix(rest, "/publish"), body)
	case isStream && r.Method == http.MethodPost && strings.HasSuffix(rest, "/define"):
		f.define(w, strings.TrimSuffix(rest, "/define"), body)
	case isStream && r.Method == http.MethodGet && strings.HasSuffix(rest, "/schema"):
		f.describe(w, strings.TrimSuffix(rest, "/schema"))
	default:
		f.t.Errorf("fake stream-sea: unexpected request %s %s", r.Method, path)
		writeFakeError(w, 404, "no route")
	}
}

// readBody reads a request body; bodies of POSTs must be gzip-compressed JSON.
func (f *fakeStreamSea) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.Method != http.MethodPost {
		return nil, true
	}
	if r.Header.Get("Content-Encoding") != "gzip" || r.Header.Get("Content-Type") != "application/json" {
		f.t.Errorf("fake stream-sea: %s without gzip JSON headers", r.URL.Path)
		writeFakeError(w, 415, "want gzip JSON")
		return nil, false
	}
	gz, err := gzip.NewReader(r.Body)
	if err == nil {
		var body []byte
		body, err = io.ReadAll(gz)
		if err == nil {
			return body, true
		}
	}
	f.t.Errorf("fake stream-sea: %s: bad gzip body: %v", r.URL.Path, err)
	writeFakeError(w, 400, "bad gzip")
	return nil, false
}

func (f *fakeStreamSea) versions(w http.ResponseWriter, body []byte) {
	var req struct {
		SchemaNames []string `json:"schemaNames"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeFakeError(w, 400, err.Error())
		return
	}
	f.mu.Lock()
	vec := make([]*streamsea.Version, len(req.SchemaNames))
	for i, n := range req.SchemaNames {
		if s := f.schemas[n]; s != nil {
			v := s.Version
			vec[i] = &v
		}
	}
	f.mu.Unlock()
	writeFakeJSON(w, map[string]any{"versionsVector": vec})
}

func (f *fakeStreamSea) define(w http.ResponseWriter, stream string, body []byte) {
	var s streamsea.Schema
	if err := json.Unmarshal(body, &s); err != nil || s.Name != stream {
		writeFakeError(w, 400, "bad definition")
		return
	}
	f.mu.Lock()
	f.defines++
	f.schemas[stream] = &s
	f.mu.Unlock()
	writeFakeJSON(w, &s)
}

func (f *fakeStreamSea) describe(w http.ResponseWriter, stream string) {
	f.mu.Lock()
	s := f.schemas[stream]
	f.mu.Unlock()
	if s == nil {
		writeFakeError(w, 404, "unknown stream")
		return
	}
	writeFakeJSON(w, s)
}

func (f *fakeStreamSea) publish(w http.ResponseWriter, stream string, body []byte) {
	var req struct {
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		f.t.Errorf("fake stream-sea: publish body is not JSON: %v", err)
		writeFakeError(w, 400, "not JSON")
		return
	}
	var items []json.RawMessage
	if err := json.Unmarshal(req.Payload, &items); err != nil {
		items = []json.RawMessage{req.Payload}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	status := f.publishStatus(items)
	f.requests = append(f.requests, fakePublish{Stream: stream, BodySize: len(body), Count: len(items), Status: status})
	if status != 200 {
		writeFakeError(w, status, "Payload does not match the schema", "bad is true")
		return
	}
	for _, it := range items {
		f.published[stream] = append(f.published[stream], string(it))
	}
}

// publishStatus decides the answer to one publish; f.mu is held.
func (f *fakeStreamSea) publishStatus(items []json.RawMessage) int {
	if len(f.failNext) > 0 {
		status := f.failNext[0]
		f.failNext = f.failNext[1:]
		return status
	}
	for _, it := range items {
		var probe struct {
			Bad bool `json:"bad"`
		}
		if json.Unmarshal(it, &probe) != nil || probe.Bad {
			return 400
		}
	}
	return 200
}

func (f *fakeStreamSea) setSchema(s *streamsea.Schema) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.schemas[s.Name] = s.Clone()
}

func (f *fakeStreamSea) failPublishes(statuses ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext = append(f.failNext, statuses...)
}

func (f *fakeStreamSea) snapshot() (published map[string][]string, requests []fakePublish, defines int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	published = map[string][]string{}
	for k, v := range f.published {
		published[k] = append([]string(nil), v...)
	}
	return published, append([]fakePublish(nil), f.requests...), f.defines
}

func writeFakeJSON(w http.ResponseWriter, v any) {
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(v)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b.Bytes())
}

func writeFakeError(w http.ResponseWriter, status int, msg string, errs ...string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"message": msg, "errors": errs})
}

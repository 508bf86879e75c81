package streamsea

import (
	"compress/gzip"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

const (
	testClientID     = "bridge-1"
	testClientSecret = "s3cr:et"
)

// recorded is one request as the fake server saw it, with the body already decompressed.
type recorded struct {
	Method          string
	Path            string // escaped path, as sent
	Auth            string
	ContentType     string
	ContentEncoding string
	Body            string
	BodyErr         error
}

// fakeAPI is an httptest server that records every request and answers with a fixed status and
// body. It counts new connections so that tests can check connection reuse.
type fakeAPI struct {
	*httptest.Server
	status   int
	respBody string

	mu       sync.Mutex
	requests []recorded
	newConns atomic.Int32
}

func newFakeAPI(t *testing.T, status int, respBody string) *fakeAPI {
	t.Helper()
	f := &fakeAPI{status: status, respBody: respBody}
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.newConns.Add(1)
		}
	}
	f.Start()
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	rec := recorded{
		Method:          r.Method,
		Path:            r.URL.EscapedPath(),
		Auth:            r.Header.Get("Authorization"),
		ContentType:     r.Header.Get("Content-Type"),
		ContentEncoding: r.Header.Get("Content-Encoding"),
	}
	rec.Body, rec.BodyErr = readBody(r)
	f.mu.Lock()
	f.requests = append(f.requests, rec)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.status)
	_, _ = io.WriteString(w, f.respBody)
}

func (f *fakeAPI) recorded() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

// readBody reads the request body, decompressing it when Content-Encoding says gzip.
func readBody(r *http.Request) (string, error) {
	var rd io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			return "", err
		}
		defer gz.Close()
		rd = gz
	}
	b, err := io.ReadAll(rd)
	return string(b), err
}

func wantAuth() string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(testClientID+":"+testClientSecret))
}

func newTestClient(t *testing.T, baseURL string, gzipOn bool) *Client {
	t.Helper()
	c, err := NewClient(ClientOptions{
		BaseURL: baseURL, ClientID: testClientID, ClientSecret: testClientSecret, Gzip: gzipOn,
	})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

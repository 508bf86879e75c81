package streamsea

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	apiPrefix = "/api/v1"
	// maxErrorBody bounds how much of an error answer is read.
	maxErrorBody = 1 << 20
	// maxResponseBody bounds how much of a successful answer is read and decoded.
	maxResponseBody = 16 << 20
	// errorTextLimit bounds the raw body text kept in APIError.Message when the body is not JSON.
	errorTextLimit = 512
	defaultTimeout = 10 * time.Second
)

// ClientOptions configures a Client.
type ClientOptions struct {
	BaseURL      string        // "http(s)://host[:port]"; the client adds "/api/v1"
	ClientID     string        // basic auth user, sent on every call
	ClientSecret string        // basic auth password
	Gzip         bool          // gzip request bodies (Content-Encoding: gzip), as the Python/PHP clients do
	Timeout      time.Duration // per request; default 10s
	TLS          *tls.Config   // nil: system defaults
	HTTPClient   *http.Client  // optional; overrides Timeout/TLS
	UserAgent    string        // optional User-Agent header
}

// Client calls the stream-sea REST API. It is safe for concurrent use by many goroutines and
// is meant to be shared; it keeps idle connections for reuse.
//
// Every method returns nil on a 2xx answer. Other answers are *APIError (match ErrUnauthorized
// and ErrStreamNotFound with errors.Is); transport failures are returned wrapped with the
// operation name. IsRetriable tells the two kinds apart for retry loops.
type Client struct {
	base      string // scheme://host[:port][/prefix]/api/v1
	clientID  string
	auth      string // the Authorization header value
	userAgent string
	gzip      bool
	http      *http.Client
	bodies    bodyPool
}

// NewClient checks opts and returns a Client. It does not contact the server.
func NewClient(opts ClientOptions) (*Client, error) {
	base, err := parseBaseURL(opts.BaseURL)
	if err != nil {
		return nil, err
	}
	if opts.ClientID == "" {
		return nil, errors.New("stream-sea client: client id is empty")
	}
	creds := base64.StdEncoding.EncodeToString([]byte(opts.ClientID + ":" + opts.ClientSecret))
	return &Client{
		base:      base + apiPrefix,
		clientID:  opts.ClientID,
		auth:      "Basic " + creds,
		userAgent: opts.UserAgent,
		gzip:      opts.Gzip,
		http:      newHTTPClient(opts),
		bodies:    bodyPool{gzipOn: opts.Gzip},
	}, nil
}

func parseBaseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("stream-sea base URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("stream-sea base URL %q: scheme must be http or https", raw)
	}
	if u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("stream-sea base URL %q: want http(s)://host[:port] without user, query or fragment", raw)
	}
	return u.Scheme + "://" + u.Host + strings.TrimSuffix(u.EscapedPath(), "/"), nil
}

func newHTTPClient(opts ClientOptions) *http.Client {
	if opts.HTTPClient != nil {
		return opts.HTTPClient
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 64
	t.MaxIdleConnsPerHost = 16
	t.IdleConnTimeout = 90 * time.Second
	if opts.TLS != nil {
		t.TLSClientConfig = opts.TLS.Clone()
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	return &http.Client{
		Transport: t,
		Timeout:   timeout,
		// A redirected POST could silently turn into a GET: report 3xx as errors instead.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// ClientID returns the client id the Client authenticates with.
func (c *Client) ClientID() string { return c.clientID }

// CloseIdleConnections closes the kept-alive connections that are not in use.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// Publish publishes one message. payload must be one JSON object; it is sent untouched as
// {"payload": <payload>}.
func (c *Client) Publish(ctx context.Context, stream string, payload []byte) error {
	const op = "publish"
	if err := checkStream(op, stream); err != nil {
		return err
	}
	if len(payload) == 0 {
		return errors.New("stream-sea publish: empty payload")
	}
	w := c.bodies.start()
	w.WriteString(`{"payload":`)
	w.Write(payload)
	w.WriteString(`}`)
	return c.call(ctx, op, http.MethodPost, streamPath(stream, "/publish"), w.finish(), nil)
}

// PublishBatch publishes payloads as one batch, {"payload": [<p0>, <p1>, ...]}: the server
// accepts or rejects them together. Each payload must be one JSON object; it is sent untouched.
// An empty batch sends nothing and returns nil.
func (c *Client) PublishBatch(ctx context.Context, stream string, payloads [][]byte) error {
	const op = "publish"
	if err := checkStream(op, stream); err != nil {
		return err
	}
	if len(payloads) == 0 {
		return nil
	}
	body, err := c.batchBody(payloads)
	if err != nil {
		return err
	}
	return c.call(ctx, op, http.MethodPost, streamPath(stream, "/publish"), body, nil)
}

// batchBody encodes the body of PublishBatch.
func (c *Client) batchBody(payloads [][]byte) (*requestBody, error) {
	w := c.bodies.start()
	w.WriteString(`{"payload":[`)
	for i, p := range payloads {
		if len(p) == 0 {
			w.finish().release()
			return nil, fmt.Errorf("stream-sea publish: payload %d is empty", i)
		}
		if i > 0 {
			w.WriteString(",")
		}
		w.Write(p)
	}
	w.WriteString(`]}`)
	return w.finish(), nil
}

// DefineStream defines (or redefines, with a higher version) the schema of the stream s.Name
// and returns the definition the server stored. A server that answers 200 without a
// definition is taken to have stored s.
func (c *Client) DefineStream(ctx context.Context, s *Schema) (*Schema, error) {
	const op = "define stream"
	if s == nil {
		return nil, errors.New("stream-sea define stream: nil schema")
	}
	if err := checkStream(op, s.Name); err != nil {
		return nil, err
	}
	body, err := c.jsonBody(s)
	if err != nil {
		return nil, fmt.Errorf("stream-sea %s %q: %w", op, s.Name, err)
	}
	var stored Schema
	if err := c.call(ctx, op, http.MethodPost, streamPath(s.Name, "/define"), body, &stored); err != nil {
		return nil, err
	}
	if stored.Name == "" {
		stored = *s
	}
	return &stored, nil
}

// DescribeStream returns the schema of stream. An unknown stream gives an error matching
// ErrStreamNotFound.
func (c *Client) DescribeStream(ctx context.Context, stream string) (*Schema, error) {
	const op = "describe stream"
	if err := checkStream(op, stream); err != nil {
		return nil, err
	}
	var s *Schema
	if err := c.call(ctx, op, http.MethodGet, streamPath(stream, "/schema"), nil, &s); err != nil {
		return nil, err
	}
	if s == nil || s.Name == "" {
		return nil, fmt.Errorf("stream-sea %s %q: empty answer: %w", op, stream, ErrStreamNotFound)
	}
	return s, nil
}

// SchemaVersions returns the schema version of each stream, in the order of streams, with nil
// where a stream has no schema.
func (c *Client) SchemaVersions(ctx context.Context, streams []string) ([]*Version, error) {
	const op = "schema versions vector"
	if streams == nil {
		streams = []string{}
	}
	body, err := c.jsonBody(struct {
		SchemaNames []string `json:"schemaNames"`
	}{streams})
	if err != nil {
		return nil, fmt.Errorf("stream-sea %s: %w", op, err)
	}
	var out struct {
		VersionsVector []*Version `json:"versionsVector"`
	}
	if err := c.call(ctx, op, http.MethodPost, "/schema-versions-vector", body, &out); err != nil {
		return nil, err
	}
	if len(out.VersionsVector) != len(streams) {
		return nil, fmt.Errorf("stream-sea %s: asked for %d streams, got %d versions",
			op, len(streams), len(out.VersionsVector))
	}
	return out.VersionsVector, nil
}

func checkStream(op, stream string) error {
	if stream == "" {
		return fmt.Errorf("stream-sea %s: empty stream name", op)
	}
	return nil
}

func streamPath(stream, suffix string) string {
	return "/streams/" + url.PathEscape(stream) + suffix
}

// jsonBody encodes v as a request body.
func (c *Client) jsonBody(v any) (*requestBody, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	w := c.bodies.start()
	w.Write(data)
	return w.finish(), nil
}

// call sends one request, taking over the caller's reference to body (which may be nil). On a
// 2xx answer it decodes a non-empty JSON body into out (when out is not nil); any other status
// becomes an *APIError. The response body is always drained and closed so that the connection
// is reused.
func (c *Client) call(ctx context.Context, op, method, path string, body *requestBody, out any) error {
	if body != nil {
		defer body.release()
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, http.NoBody)
	if err != nil {
		return fmt.Errorf("stream-sea %s: %w", op, err)
	}
	c.setHeaders(req, body)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("stream-sea %s: %w", op, err)
	}
	defer drainAndClose(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return readAPIError(op, resp)
	}
	if out == nil {
		return nil
	}
	if err := decodeBody(resp.Body, out); err != nil {
		return fmt.Errorf("stream-sea %s: decoding the answer: %w", op, err)
	}
	return nil
}

func (c *Client) setHeaders(req *http.Request, body *requestBody) {
	h := req.Header
	h.Set("Authorization", c.auth)
	h.Set("Accept", "application/json")
	if c.userAgent != "" {
		h.Set("User-Agent", c.userAgent)
	}
	if body == nil {
		return
	}
	req.Body = body.reader()
	req.ContentLength = int64(body.len())
	req.GetBody = func() (io.ReadCloser, error) { return body.reader(), nil }
	h.Set("Content-Type", "application/json")
	if c.gzip {
		h.Set("Content-Encoding", "gzip")
	}
}

// decodeBody decodes one JSON value into out; an empty body leaves out untouched.
func decodeBody(r io.Reader, out any) error {
	err := json.NewDecoder(io.LimitReader(r, maxResponseBody)).Decode(out)
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

func drainAndClose(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, maxErrorBody))
	_ = body.Close()
}

// readAPIError builds the *APIError of a non-2xx answer from its JSON error body,
// {"message": "...", "errors": [...]}, or from the raw body text when it is not one.
func readAPIError(op string, resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &APIError{Op: op, Status: resp.StatusCode}
	if e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable {
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	var wire struct {
		Message string            `json:"message"`
		Errors  []json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(data, &wire) == nil && (wire.Message != "" || len(wire.Errors) > 0) {
		e.Message = wire.Message
		e.Errors = errorTexts(wire.Errors)
		return e
	}
	e.Message = truncate(strings.TrimSpace(string(data)), errorTextLimit)
	return e
}

// errorTexts turns the "errors" list into strings: strings are unquoted, anything else is
// kept as compact JSON.
func errorTexts(raw []json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	out := make([]string, 0, len(raw))
	for _, r := range raw {
		var s string
		if json.Unmarshal(r, &s) == nil {
			out = append(out, s)
			continue
		}
		var b bytes.Buffer
		if json.Compact(&b, r) == nil {
			out = append(out, b.String())
		}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && cut < len(s) && s[cut]&0xC0 == 0x80 {
		cut-- // do not split a UTF-8 sequence
	}
	return s[:cut] + "…"
}

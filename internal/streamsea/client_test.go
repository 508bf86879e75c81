package streamsea

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

func ptrVersion(v Version) *Version { return &v }

func ptrString(s string) *string { return &s }

func TestClientOperations(t *testing.T) {
	schema := &Schema{Name: "portCall", Version: 2, Fields: []Field{
		{Name: "portCallKey", Type: TypeString},
		{Name: "side", Type: TypeEnum, Enum: []string{"port", "starboard"}},
	}}
	schemaJSON := `{"name":"portCall","version":2,"fields":[{"name":"portCallKey","type":"string"},` +
		`{"name":"side","type":"enum","enum":["port","starboard"]}]}`
	tests := []struct {
		name       string
		call       func(context.Context, *Client) (any, error)
		respBody   string
		wantMethod string
		wantPath   string
		wantBody   string // exact bytes after decompression; "" for no body
		want       any
	}{
		{
			name: "publish passes the payload through untouched",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.Publish(ctx, "port calls/eu", []byte(`{"a": 1,  "b":"x"}`))
			},
			wantMethod: "POST", wantPath: "/api/v1/streams/port%20calls%2Feu/publish",
			wantBody: `{"payload":{"a": 1,  "b":"x"}}`,
		},
		{
			name: "publish batch sends an array",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.PublishBatch(ctx, "s", [][]byte{[]byte(`{"a":1}`), []byte(`{"b":2}`), []byte(`{}`)})
			},
			wantMethod: "POST", wantPath: "/api/v1/streams/s/publish",
			wantBody: `{"payload":[{"a":1},{"b":2},{}]}`,
		},
		{
			name: "define stream decodes the stored definition",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.DefineStream(ctx, schema)
			},
			respBody:   `{"name":"portCall","version":2,"fields":[{"name":"portCallKey","type":"string"}]}`,
			wantMethod: "POST", wantPath: "/api/v1/streams/portCall/define", wantBody: schemaJSON,
			want: &Schema{Name: "portCall", Version: 2, Fields: []Field{{Name: "portCallKey", Type: TypeString}}},
		},
		{
			name: "define stream with an empty answer returns the definition sent",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.DefineStream(ctx, schema)
			},
			wantMethod: "POST", wantPath: "/api/v1/streams/portCall/define", wantBody: schemaJSON,
			want: schema,
		},
		{
			name: "describe stream",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.DescribeStream(ctx, "port/Call")
			},
			respBody:   schemaJSON,
			wantMethod: "GET", wantPath: "/api/v1/streams/port%2FCall/schema",
			want: schema,
		},
		{
			name: "schema versions vector",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.SchemaVersions(ctx, []string{"a", "b", "c"})
			},
			respBody:   `{"versionsVector":[3,null,1]}`,
			wantMethod: "POST", wantPath: "/api/v1/schema-versions-vector",
			wantBody: `{"schemaNames":["a","b","c"]}`,
			want:     []*Version{ptrVersion(3), nil, ptrVersion(1)},
		},
		{
			name: "create client",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateClient(ctx, CreateClientRequest{ClientID: "c2", Description: "second"})
			},
			respBody:   `{"givenId":"c2","secret":"xyz"}`,
			wantMethod: "POST", wantPath: "/api/v1/client",
			wantBody: `{"clientId":"c2","description":"second"}`,
			want:     &ClientCredentials{GivenID: "c2", Secret: "xyz"},
		},
		{
			name: "delete client",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.DeleteClient(ctx, "c 2")
			},
			respBody:   `{"id":"c 2"}`,
			wantMethod: "DELETE", wantPath: "/api/v1/client/c%202",
			want: &DeletedResponse{ID: "c 2"},
		},
		{
			name: "rotate secret",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.RotateSecret(ctx)
			},
			respBody:   `{"givenId":"bridge-1","secret":"new"}`,
			wantMethod: "PUT", wantPath: "/api/v1/client/bridge-1",
			want: &ClientCredentials{GivenID: "bridge-1", Secret: "new"},
		},
		{
			name: "set jwt public key",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.SetJWTPublicKey(ctx, "-----BEGIN PUBLIC KEY-----\nAB\n")
			},
			respBody:   `{"givenId":"bridge-1","jwtPublicKey":"K"}`,
			wantMethod: "PUT", wantPath: "/api/v1/client/bridge-1/jwt-public-key",
			wantBody: `{"jwtPublicKey":"-----BEGIN PUBLIC KEY-----\nAB\n"}`,
			want:     &JWTPublicKeyResponse{GivenID: "bridge-1", JWTPublicKey: ptrString("K")},
		},
		{
			name: "remove jwt public key sends null",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.SetJWTPublicKey(ctx, "")
			},
			respBody:   `{"givenId":"bridge-1","jwtPublicKey":null}`,
			wantMethod: "PUT", wantPath: "/api/v1/client/bridge-1/jwt-public-key",
			wantBody: `{"jwtPublicKey":null}`,
			want:     &JWTPublicKeyResponse{GivenID: "bridge-1"},
		},
		{
			name: "create jail",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateJail(ctx, CreateJailRequest{NewJailID: "j", NewJailName: "J", NewClientID: "jc"})
			},
			respBody:   `{"newJailId":"j","newClientId":"jc","newClientSecret":"s"}`,
			wantMethod: "POST", wantPath: "/api/v1/jails",
			wantBody: `{"newJailId":"j","newJailName":"J","newClientId":"jc"}`,
			want:     &CreateJailResponse{NewJailID: "j", NewClientID: "jc", NewClientSecret: "s"},
		},
		{
			name: "delete jail",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.DeleteJail(ctx, "j")
			},
			respBody:   `{"id":"j"}`,
			wantMethod: "DELETE", wantPath: "/api/v1/jails/j",
			want: &DeletedResponse{ID: "j"},
		},
	}
	for _, gz := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/gzip=%v", tt.name, gz), func(t *testing.T) {
				srv := newFakeAPI(t, 200, tt.respBody)
				c := newTestClient(t, srv.URL, gz)
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				defer cancel()
				got, err := tt.call(ctx, c)
				if err != nil {
					t.Fatalf("call: %v", err)
				}
				if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
					t.Errorf("result = %#v, want %#v", got, tt.want)
				}
				reqs := srv.recorded()
				if len(reqs) != 1 {
					t.Fatalf("server saw %d requests, want 1", len(reqs))
				}
				checkRequest(t, reqs[0], tt.wantMethod, tt.wantPath, tt.wantBody, gz)
			})
		}
	}
}

func checkRequest(t *testing.T, r recorded, method, path, body string, gz bool) {
	t.Helper()
	if r.Method != method || r.Path != path {
		t.Errorf("request = %s %s, want %s %s", r.Method, r.Path, method, path)
	}
	if r.Auth != wantAuth() {
		t.Errorf("Authorization = %q, want %q", r.Auth, wantAuth())
	}
	if r.BodyErr != nil {
		t.Fatalf("reading body: %v", r.BodyErr)
	}
	if r.Body != body {
		t.Errorf("body = %s, want %s", r.Body, body)
	}
	wantEncoding, wantType := "", ""
	if body != "" {
		wantType = "application/json"
		if gz {
			wantEncoding = "gzip"
		}
	}
	if r.ContentEncoding != wantEncoding || r.ContentType != wantType {
		t.Errorf("Content-Encoding %q Content-Type %q, want %q %q",
			r.ContentEncoding, r.ContentType, wantEncoding, wantType)
	}
}

func TestClientBaseURLPrefix(t *testing.T) {
	srv := newFakeAPI(t, 200, "")
	c := newTestClient(t, srv.URL+"/streamsea/", false)
	if err := c.Publish(t.Context(), "s", []byte(`{}`)); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if got := srv.recorded()[0].Path; got != "/streamsea/api/v1/streams/s/publish" {
		t.Errorf("path = %s", got)
	}
}

func TestNewClientRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts ClientOptions
	}{
		{"no scheme", ClientOptions{BaseURL: "localhost:3104", ClientID: "a"}},
		{"ws scheme", ClientOptions{BaseURL: "ws://localhost:3104", ClientID: "a"}},
		{"query", ClientOptions{BaseURL: "http://localhost:3104?x=1", ClientID: "a"}},
		{"user info", ClientOptions{BaseURL: "http://u:p@localhost:3104", ClientID: "a"}},
		{"no client id", ClientOptions{BaseURL: "http://localhost:3104"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := NewClient(tt.opts); err == nil {
				t.Errorf("NewClient = %v, want an error", c)
			}
		})
	}
}

func TestClientRejectsBadArgumentsWithoutSending(t *testing.T) {
	srv := newFakeAPI(t, 200, "")
	c := newTestClient(t, srv.URL, true)
	ctx := t.Context()
	calls := map[string]func() error{
		"publish empty stream":  func() error { return c.Publish(ctx, "", []byte(`{}`)) },
		"publish empty payload": func() error { return c.Publish(ctx, "s", nil) },
		"batch empty payload": func() error {
			return c.PublishBatch(ctx, "s", [][]byte{[]byte(`{}`), nil})
		},
		"define nil":          func() error { _, err := c.DefineStream(ctx, nil); return err },
		"define without name": func() error { _, err := c.DefineStream(ctx, &Schema{}); return err },
		"describe no name":    func() error { _, err := c.DescribeStream(ctx, ""); return err },
		"delete client no id": func() error { _, err := c.DeleteClient(ctx, ""); return err },
	}
	for name, call := range calls {
		if err := call(); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	if err := c.PublishBatch(ctx, "s", nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
	if n := len(srv.recorded()); n != 0 {
		t.Errorf("server saw %d requests, want 0", n)
	}
}

// TestClientConcurrentPublish checks that pooled buffers and gzip writers are never shared by
// two requests in flight: every body arrives exactly once and intact.
func TestClientConcurrentPublish(t *testing.T) {
	srv := newFakeAPI(t, 200, "")
	c := newTestClient(t, srv.URL, true)
	const workers, perWorker = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				p := fmt.Appendf(nil, `{"worker":%d,"i":%d,"pad":"%0*d"}`, w, i, (w*perWorker+i)%300, 0)
				errs <- c.PublishBatch(t.Context(), "s", [][]byte{p, p})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	seen := map[string]int{}
	for _, r := range srv.recorded() {
		seen[r.Body]++
	}
	for w := range workers {
		for i := range perWorker {
			p := fmt.Sprintf(`{"worker":%d,"i":%d,"pad":"%0*d"}`, w, i, (w*perWorker+i)%300, 0)
			body := `{"payload":[` + p + "," + p + `]}`
			if seen[body] != 1 {
				t.Fatalf("body %.60s... seen %d times, want 1", body, seen[body])
			}
		}
	}
}

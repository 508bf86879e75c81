package streamsea

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestClientAPIErrors(t *testing.T) {
	long := strings.Repeat("x", 2000)
	tests := []struct {
		name         string
		status       int
		body         string
		describe     bool // call DescribeStream instead of Publish
		wantMessage  string
		wantErrors   []string
		unauthorized bool
		notFound     bool
		retriable    bool
	}{
		{
			name: "400 with errors list", status: 400,
			body:        `{"message":"Payload does not match the schema","errors":["a is required","b must be a date"]}`,
			wantMessage: "Payload does not match the schema",
			wantErrors:  []string{"a is required", "b must be a date"},
		},
		{
			name: "400 with structured errors", status: 400,
			body:        `{"message":"bad","errors":[{"path": "a"}, 3]}`,
			wantMessage: "bad", wantErrors: []string{`{"path":"a"}`, "3"},
		},
		{
			name: "401", status: 401,
			body:         `{"message":"The credentials are present and well formed but invalid."}`,
			wantMessage:  "The credentials are present and well formed but invalid.",
			unauthorized: true,
		},
		{name: "403", status: 403, body: `{"message":"forbidden"}`, wantMessage: "forbidden", unauthorized: true},
		{
			name: "404 on describe", status: 404, describe: true,
			body: `{"message":"no such stream"}`, wantMessage: "no such stream", notFound: true,
		},
		{name: "408", status: 408, body: `{"message":"slow"}`, wantMessage: "slow", retriable: true},
		{name: "429", status: 429, body: `{"message":"too many"}`, wantMessage: "too many", retriable: true},
		{name: "500", status: 500, body: `{"message":"boom"}`, wantMessage: "boom", retriable: true},
		{name: "503 text body", status: 503, body: " upstream down\n", wantMessage: "upstream down", retriable: true},
		{name: "non-JSON body is truncated", status: 502, body: long, wantMessage: long[:errorTextLimit] + "…", retriable: true},
		{name: "JSON without message", status: 400, body: `{"error":"x"}`, wantMessage: `{"error":"x"}`},
		{name: "redirect is not followed", status: 302, body: "", wantMessage: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeAPI(t, tt.status, tt.body)
			c := newTestClient(t, srv.URL, false)
			var err error
			if tt.describe {
				_, err = c.DescribeStream(t.Context(), "s")
			} else {
				err = c.Publish(t.Context(), "s", []byte(`{}`))
			}
			apiErr, ok := errors.AsType[*APIError](err)
			if !ok {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			if apiErr.Status != tt.status || apiErr.Message != tt.wantMessage ||
				!reflect.DeepEqual(apiErr.Errors, tt.wantErrors) {
				t.Errorf("got status %d message %q errors %q, want %d %q %q", apiErr.Status,
					apiErr.Message, apiErr.Errors, tt.status, tt.wantMessage, tt.wantErrors)
			}
			if got := errors.Is(err, ErrUnauthorized); got != tt.unauthorized {
				t.Errorf("Is(ErrUnauthorized) = %v", got)
			}
			if got := errors.Is(err, ErrStreamNotFound); got != tt.notFound {
				t.Errorf("Is(ErrStreamNotFound) = %v", got)
			}
			if got := IsRetriable(err); got != tt.retriable {
				t.Errorf("IsRetriable = %v", got)
			}
			for _, e := range tt.wantErrors {
				if !strings.Contains(err.Error(), e) {
					t.Errorf("Error() = %q does not name %q", err, e)
				}
			}
		})
	}
}

func TestClientTransportErrors(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		c := newTestClient(t, "http://"+addr, false)
		err = c.Publish(t.Context(), "s", []byte(`{}`))
		if err == nil || !IsRetriable(err) {
			t.Errorf("err = %v, want a retriable error", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer srv.Close()
		defer close(release)
		c, err := NewClient(ClientOptions{BaseURL: srv.URL, ClientID: "a", Timeout: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseIdleConnections()
		err = c.Publish(t.Context(), "s", []byte(`{}`))
		if err == nil || !IsRetriable(err) {
			t.Errorf("err = %v, want a retriable timeout", err)
		}
	})
	t.Run("context cancelled", func(t *testing.T) {
		srv := newFakeAPI(t, 200, "")
		c := newTestClient(t, srv.URL, false)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := c.Publish(ctx, "s", []byte(`{}`))
		if !errors.Is(err, context.Canceled) || IsRetriable(err) {
			t.Errorf("err = %v, want a non-retriable context.Canceled", err)
		}
	})
	t.Run("malformed success body", func(t *testing.T) {
		srv := newFakeAPI(t, 200, `{"name":`)
		c := newTestClient(t, srv.URL, false)
		if _, err := c.DescribeStream(t.Context(), "s"); err == nil {
			t.Error("want a decoding error")
		}
	})
	t.Run("null describe answer", func(t *testing.T) {
		srv := newFakeAPI(t, 200, `null`)
		c := newTestClient(t, srv.URL, false)
		if _, err := c.DescribeStream(t.Context(), "s"); !errors.Is(err, ErrStreamNotFound) {
			t.Errorf("err = %v, want ErrStreamNotFound", err)
		}
	})
	t.Run("versions vector of the wrong length", func(t *testing.T) {
		srv := newFakeAPI(t, 200, `{"versionsVector":[1]}`)
		c := newTestClient(t, srv.URL, false)
		if _, err := c.SchemaVersions(t.Context(), []string{"a", "b"}); err == nil {
			t.Error("want an error")
		}
	})
}

// TestClientReusesConnections checks that success and error answers (with bodies) are drained
// so that sequential calls share one connection.
func TestClientReusesConnections(t *testing.T) {
	for _, status := range []int{200, 400, 500} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := newFakeAPI(t, status, `{"message":"`+strings.Repeat("m", 64<<10)+`"}`)
			c := newTestClient(t, srv.URL, true)
			for range 5 {
				_ = c.Publish(t.Context(), "s", []byte(`{"a":1}`))
			}
			if n := srv.newConns.Load(); n != 1 {
				t.Errorf("%d connections for 5 sequential calls, want 1", n)
			}
		})
	}
}

func TestIsRetriable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", errors.New("x"), false},
		{"api 500", &APIError{Status: 500}, true},
		{"api 400", &APIError{Status: 400}, false},
		{"wrapped api 429", fmt.Errorf("w: %w", &APIError{Status: 429}), true},
		{"url error", &url.Error{Op: "Post", URL: "u", Err: errors.New("reset")}, true},
		{"cancelled url error", &url.Error{Op: "Post", URL: "u", Err: context.Canceled}, false},
		{"deadline", fmt.Errorf("w: %w", context.DeadlineExceeded), true},
		{"unexpected eof", fmt.Errorf("w: %w", io.ErrUnexpectedEOF), true},
		{"net op error", &net.OpError{Op: "dial", Err: errors.New("refused")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsRetriable(tt.err); got != tt.want {
				t.Errorf("IsRetriable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

package streamsea

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// gatedServer answers upgrade requests with a configurable HTTP status (0: upgrade) in front
// of a wsTestServer, and counts every request.
type gatedServer struct {
	*wsTestServer
	status   atomic.Int32
	requests atomic.Int32
}

func newGatedServer(t *testing.T, status int) *gatedServer {
	t.Helper()
	g := &gatedServer{wsTestServer: newWSTestServer(t, 1)}
	g.status.Store(int32(status))
	g.srv.Config.Handler = http.HandlerFunc(g.serve)
	return g
}

func (g *gatedServer) serve(w http.ResponseWriter, r *http.Request) {
	g.requests.Add(1)
	if status := int(g.status.Load()); status != 0 {
		http.Error(w, fmt.Sprintf("gate says %d", status), status)
		return
	}
	g.wsTestServer.serve(w, r)
}

func (g *gatedServer) start() *gatedServer {
	g.wsTestServer.start()
	return g
}

// startTLS serves with httptest's self-signed certificate, or with cert when given.
func (g *gatedServer) startTLS(cert *tls.Certificate) *gatedServer {
	if cert != nil {
		g.srv.TLS = &tls.Config{Certificates: []tls.Certificate{*cert}}
	}
	g.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused TLS handshakes
	g.srv.StartTLS()
	g.tb.Cleanup(g.close)
	return g
}

// reconnectErrors returns hooks that send every reconnect wait's error to the channel.
func reconnectErrors(n int) (chan error, Hooks) {
	errs := make(chan error, n)
	return errs, Hooks{OnReconnectWait: func(_ int, _ time.Duration, err error) {
		select {
		case errs <- err:
		default:
		}
	}}
}

// runUntilFatal runs a subscriber that must stop by itself within 5s and returns Run's error.
func runUntilFatal(t *testing.T, opts SubscriberOptions) error {
	t.Helper()
	sub, err := NewSubscriber(opts, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	runErr := sub.Run(ctx)
	if ctx.Err() != nil {
		t.Fatalf("Run retried until its deadline instead of failing (Run = %v)", runErr)
	}
	if runErr == nil {
		t.Fatal("Run = nil, want a fatal error")
	}
	if _, err := sub.Next(ctx); !errors.Is(err, runErr) {
		t.Fatalf("Next after Run = %v, want Run's error %v", err, runErr)
	}
	return runErr
}

func TestSubscriberRejectedUpgradeBeforeFirstConnectionIsFatal(t *testing.T) {
	tests := []struct {
		status   int
		wantText []string
	}{
		{http.StatusUnauthorized, []string{"401 Unauthorized", "check the client id and secret", `"gate says 401"`}},
		{http.StatusForbidden, []string{"403 Forbidden", "check the client id and secret", `"gate says 403"`}},
		{http.StatusNotFound, []string{"404 Not Found", "/api/v1/streams: check the connection url", `"gate says 404"`}},
		{http.StatusBadRequest, []string{"400 Bad Request", "check the connection url", `"gate says 400"`}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			srv := newGatedServer(t, tt.status).start()
			waits, hooks := reconnectErrors(4)
			opts := testOptions(srv.url(), Subscription{Stream: "a"})
			opts.Hooks = hooks
			err := runUntilFatal(t, opts)
			if !errors.Is(err, ErrHandshakeRejected) {
				t.Fatalf("Run = %v, want ErrHandshakeRejected", err)
			}
			he, ok := errors.AsType[*HandshakeError](err)
			if !ok || he.Status != tt.status {
				t.Fatalf("Run = %#v, want a *HandshakeError with status %d", err, tt.status)
			}
			wantURL := "ws" + strings.TrimPrefix(srv.url(), "http") + "/api/v1/streams"
			for _, s := range append(tt.wantText, "stream-sea answered", wantURL) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if n := srv.requests.Load(); n != 1 {
				t.Fatalf("server saw %d upgrade requests, want exactly 1", n)
			}
			if len(waits) != 0 {
				t.Fatalf("reconnect wait after a fatal error: %v", <-waits)
			}
		})
	}
}

func TestSubscriberRetriesTransientUpgradeAnswers(t *testing.T) {
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusInternalServerError,
		http.StatusRequestTimeout, http.StatusTooManyRequests} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := newGatedServer(t, status).start()
			waits, hooks := reconnectErrors(64)
			opts := testOptions(srv.url(), Subscription{Stream: "a"})
			opts.Hooks = hooks
			runSubscriber(t, opts)
			for i := range 2 {
				select {
				case err := <-waits:
					if he, ok := errors.AsType[*HandshakeError](err); !ok || he.Status != status {
						t.Fatalf("reconnect wait %d after %v, want a *HandshakeError with status %d", i, err, status)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("no reconnect wait %d within 5s", i)
				}
			}
			srv.status.Store(0)
			srv.next(t)
			if n := srv.requests.Load(); n < 3 {
				t.Fatalf("server saw %d upgrade requests, want at least 3 (2 refused, 1 upgraded)", n)
			}
		})
	}
}

func TestSubscriberUntrustedCertificateIsFatal(t *testing.T) {
	pki := newTestPKI(t)
	withCA, err := TLSConfig(pki.caFile, "", "", false)
	if err != nil {
		t.Fatal(err)
	}
	wrongName := withCA.Clone()
	wrongName.ServerName = "stream-sea.example"
	tests := []struct {
		name     string
		cert     *tls.Certificate
		client   *tls.Config
		wantText string
		wantAs   func(error) bool
	}{
		{"self-signed, no CA configured", nil, nil, "certificate signed by unknown authority",
			func(err error) bool { _, ok := errors.AsType[x509.UnknownAuthorityError](err); return ok }},
		{"host name not in the certificate", &pki.server, wrongName, "stream-sea.example",
			func(err error) bool { _, ok := errors.AsType[x509.HostnameError](err); return ok }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newGatedServer(t, 0).startTLS(tt.cert)
			waits, hooks := reconnectErrors(4)
			opts := testOptions(srv.url(), Subscription{Stream: "a"})
			opts.TLS, opts.Hooks = tt.client, hooks
			err := runUntilFatal(t, opts)
			if !tt.wantAs(err) {
				t.Fatalf("Run = %v, want the certificate error in its chain", err)
			}
			for _, s := range []string{tt.wantText, "not trusted", "check the TLS CA file", "wss://127.0.0.1"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if len(waits) != 0 {
				t.Fatalf("reconnect wait after a fatal error: %v", <-waits)
			}
		})
	}
}

func TestSubscriberRetriesRejectedUpgradeAfterConnecting(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusUnauthorized} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := newGatedServer(t, 0).start()
			waits, hooks := reconnectErrors(64)
			connects := make(chan struct{}, 4)
			hooks.OnConnect = func() { connects <- struct{}{} }
			opts := testOptions(srv.url(), Subscription{Stream: "a"})
			opts.Hooks = hooks
			_, stop := runSubscriber(t, opts)
			first := srv.next(t)
			srv.status.Store(int32(status))
			first.drop()
			rejected := 0
			for deadline := time.After(5 * time.Second); rejected < 2; {
				select {
				case err := <-waits:
					if he, ok := errors.AsType[*HandshakeError](err); ok && he.Status == status {
						rejected++
					}
				case <-deadline:
					t.Fatalf("%d rejected reconnects within 5s, want 2", rejected)
				}
			}
			srv.status.Store(0)
			for i := range 2 {
				select {
				case <-connects:
				case <-time.After(5 * time.Second):
					t.Fatalf("connection %d not established within 5s", i+1)
				}
			}
			if err := stop(); err != nil {
				t.Fatalf("Run = %v, want nil after cancel", err)
			}
		})
	}
}

func TestHandshakeErrorText(t *testing.T) {
	tests := []struct {
		err  HandshakeError
		want string
	}{
		{HandshakeError{URL: "ws://h/api/v1/streams", Status: 404},
			"stream-sea answered 404 Not Found for ws://h/api/v1/streams: check the connection url"},
		{HandshakeError{URL: "wss://h/api/v1/streams", Status: 401, Body: "no token"},
			"stream-sea answered 401 Unauthorized for wss://h/api/v1/streams: check the client id and secret " +
				`(or JWT), and any proxy in front of stream-sea; response body: "no token"`},
		{HandshakeError{URL: "ws://h/api/v1/streams", Status: 503, Body: "down\n"},
			`stream-sea answered 503 Service Unavailable for ws://h/api/v1/streams; response body: "down\n"`},
		{HandshakeError{URL: "ws://h/api/v1/streams", Status: 499},
			"stream-sea answered 499 for ws://h/api/v1/streams: check the connection url and that it points at stream-sea"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q\nwant      %q", got, tt.want)
		}
	}
}

func TestHandshakeBodyIsBoundedAndTrimmed(t *testing.T) {
	long := strings.Repeat("x", 3*maxHandshakeBody)
	tests := []struct {
		body string
		want string
	}{
		{"  not here \n", "not here"},
		{long, long[:maxHandshakeBody]},
		{"", ""},
	}
	for _, tt := range tests {
		resp := &http.Response{Body: io.NopCloser(strings.NewReader(tt.body))}
		if got := handshakeBody(resp); got != tt.want {
			t.Errorf("handshakeBody(%d bytes) = %d bytes, want %d", len(tt.body), len(got), len(tt.want))
		}
	}
	if got := handshakeBody(&http.Response{}); got != "" {
		t.Errorf("handshakeBody without body = %q", got)
	}
}

func TestIsFatal(t *testing.T) {
	handshake := func(status int) error {
		return fmt.Errorf("wrapped: %w", &HandshakeError{URL: "ws://h", Status: status})
	}
	certErr := dialError("wss://h", nil, &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}})
	tests := []struct {
		name               string
		err                error
		before, afterwards bool // fatal before the first connection, and after one
	}{
		{"credentials refused", &AuthError{ClientID: "c"}, true, true},
		{"subscription refused", &SubscribeError{Stream: "s"}, true, true},
		{"401", handshake(401), true, false},
		{"403", handshake(403), true, false},
		{"404", handshake(404), true, false},
		{"400", handshake(400), true, false},
		{"408", handshake(408), false, false},
		{"429", handshake(429), false, false},
		{"500", handshake(500), false, false},
		{"503", handshake(503), false, false},
		{"302", handshake(302), false, false},
		{"unknown authority", certErr, true, false},
		{"host name", dialError("wss://h", nil, x509.HostnameError{Host: "h"}), true, false},
		{"invalid certificate", dialError("wss://h", nil, x509.CertificateInvalidError{Reason: x509.Expired}), true, false},
		{"connection refused", dialError("ws://h", nil, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), false, false},
		{"connection reset", dialError("ws://h", nil, syscall.ECONNRESET), false, false},
		{"dns", dialError("ws://h", nil, &net.DNSError{Err: "no such host", Name: "h", IsNotFound: true}), false, false},
		{"timeout", dialError("ws://h", nil, context.DeadlineExceeded), false, false},
		{"eof during handshake", dialError("ws://h", nil, io.ErrUnexpectedEOF), false, false},
		{"dead connection", ErrDeadConnection, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isFatal(tt.err, false); got != tt.before {
				t.Errorf("before the first connection: isFatal(%v) = %v, want %v", tt.err, got, tt.before)
			}
			if got := isFatal(tt.err, true); got != tt.afterwards {
				t.Errorf("after a connection: isFatal(%v) = %v, want %v", tt.err, got, tt.afterwards)
			}
		})
	}
}

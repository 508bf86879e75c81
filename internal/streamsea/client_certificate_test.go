package streamsea

import (
	"crypto/tls"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/seabridge/seabridge/internal/testkit/tlstest"
)

// TestRefusedClientCertificateIsCertificateError classifies the TLS alerts a server sends
// about the client's certificate apart from other alerts and network errors.
func TestRefusedClientCertificateIsCertificateError(t *testing.T) {
	remote := func(code uint8) error {
		return &net.OpError{Op: "remote error", Err: tls.AlertError(code)}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"certificate required", remote(116), true},
		{"bad certificate", remote(42), true},
		{"unsupported certificate", remote(43), true},
		{"revoked certificate", remote(44), true},
		{"expired certificate", remote(45), true},
		{"unknown certificate", remote(46), true},
		{"unknown certificate authority", remote(48), true},
		{"handshake failure", remote(40), false},
		{"internal error", remote(80), false},
		{"protocol version", remote(70), false},
		{"alert sent, not received", &net.OpError{Op: "local error", Err: tls.AlertError(116)}, false},
		{"connection reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rest := &url.Error{Op: "Post", URL: "https://h/api/v1/streams/s/publish", Err: tt.err}
			if got := IsCertificateError(rest); got != tt.want {
				t.Errorf("IsCertificateError(%v) = %v, want %v", rest, got, tt.want)
			}
			if got := IsRetriable(rest); got == tt.want {
				t.Errorf("IsRetriable(%v) = %v, want %v", rest, got, !tt.want)
			}
			dial := dialError("wss://h", nil, tt.err)
			if got := isFatal(dial, false); got != tt.want {
				t.Errorf("before the first connection: isFatal(%v) = %v, want %v", dial, got, tt.want)
			}
			if isFatal(dial, true) {
				t.Errorf("after a connection: isFatal(%v) = true, want false", dial)
			}
			if hint := "refused the client's TLS certificate"; strings.Contains(dial.Error(), hint) != tt.want {
				t.Errorf("dial error %q: mentions %q: %v, want %v", dial, hint, !tt.want, tt.want)
			}
		})
	}
}

// TestClientWithoutCertificateFailsAtOnce talks to a server that requires a client
// certificate, without one: the REST client's refusal is not retriable, and the subscriber
// stops before its first connection, saying that its certificate was refused.
func TestClientWithoutCertificateFailsAtOnce(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	srv := newGatedServer(t, 0)
	srv.srv.TLS = ca.ServerConfig(t, tls.RequireAndVerifyClientCert)
	srv.startTLS(nil)
	clientTLS := &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}

	t.Run("rest", func(t *testing.T) {
		c, err := NewClient(ClientOptions{BaseURL: srv.url(), ClientID: testClientID, ClientSecret: testClientSecret, TLS: clientTLS})
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseIdleConnections()
		// With TLS 1.3 the server refuses the certificate after the client's handshake has
		// finished: a request written meanwhile may meet the closed connection instead of the
		// alert. Such a failure is retriable, and a retry reads the alert.
		const attempts = 10
		for range attempts {
			err = c.Publish(t.Context(), "s", []byte(`{}`))
			if err == nil || !IsRetriable(err) {
				break
			}
			t.Logf("retriable: %v", err)
		}
		if err == nil || !IsCertificateError(err) || IsRetriable(err) {
			t.Errorf("Publish = %v (after up to %d attempts), want a certificate error that is not retriable", err, attempts)
		}
	})
	t.Run("websocket", func(t *testing.T) {
		opts := testOptions(srv.url(), Subscription{Stream: "a"})
		opts.TLS = clientTLS
		err := runUntilFatal(t, opts)
		for _, s := range []string{"refused the client's TLS certificate", "certificate required", "wss://127.0.0.1"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("Run = %v, want it to contain %q", err, s)
			}
		}
	})
}

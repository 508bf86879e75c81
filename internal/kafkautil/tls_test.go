package kafkautil

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/seabridge/seabridge/internal/testkit/tlstest"
)

// TestIsAuthErrorCertificateAlerts classifies the TLS alerts a broker sends about the client's
// certificate apart from other alerts and network errors.
func TestIsAuthErrorCertificateAlerts(t *testing.T) {
	remote := func(code uint8) error { return &net.OpError{Op: "remote error", Err: tls.AlertError(code)} }
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
		{"alert sent, not received", &net.OpError{Op: "local error", Err: tls.AlertError(116)}, false},
		{"connection reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := errors.Join(errors.New("kafka metadata from 127.0.0.1:9092"), tt.err)
			if got := IsAuthError(err); got != tt.want {
				t.Errorf("IsAuthError(%v) = %v, want %v", err, got, tt.want)
			}
			if got := errors.Is(Classify(err), ErrAuth); got != tt.want {
				t.Errorf("Classify(%v) wraps ErrAuth: %v, want %v", err, got, tt.want)
			}
		})
	}
}

// TestCheckTLS checks a TLS-only broker: trusted with the CA and, where the broker requires
// one, a client certificate; every certificate problem is an ErrAuth, which retrying cannot fix.
func TestCheckTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "kafka test CA")
	other := tlstest.NewCA(t, "other CA")
	serverOnly := startCluster(t, kfake.TLS(ca.ServerConfig(t, tls.NoClientCert)))
	mutual := startCluster(t, kfake.TLS(ca.ServerConfig(t, tls.RequireAndVerifyClientCert)))
	trusting := &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
	withCert := trusting.Clone()
	withCert.Certificates = []tls.Certificate{ca.ClientCert(t, "seabridge")}
	withStrangerCert := trusting.Clone()
	withStrangerCert.Certificates = []tls.Certificate{other.ClientCert(t, "seabridge")}
	tests := []struct {
		name    string
		brokers []string
		tls     *tls.Config
		wantErr bool
	}{
		{"trusted broker", serverOnly, trusting, false},
		{"untrusted broker", serverOnly, &tls.Config{RootCAs: other.Pool(), MinVersion: tls.VersionTLS12}, true},
		{"client certificate", mutual, withCert, false},
		{"no client certificate", mutual, trusting, true},
		{"client certificate from another CA", mutual, withStrangerCert, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := Conn{Brokers: tt.brokers, TLS: tt.tls, DialTimeout: 5 * time.Second}
			err := checkUntilFinal(t, conn)
			if (err != nil) != tt.wantErr || (err != nil) != errors.Is(err, ErrAuth) {
				t.Fatalf("Check() = %v, wantErr %v (and then ErrAuth)", err, tt.wantErr)
			}
		})
	}
}

// checkUntilFinal calls Check until it succeeds or fails with ErrAuth, at most 10 times. With
// TLS 1.3 the broker refuses a client certificate after the client's handshake has finished,
// so a request written meanwhile may meet the closed connection instead of the alert: that
// failure is transient, and a retry reads the alert.
func checkUntilFinal(t *testing.T, conn Conn) error {
	t.Helper()
	var err error
	for range 10 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = conn.Check(ctx)
		cancel()
		if err == nil || errors.Is(err, ErrAuth) {
			return err
		}
		t.Logf("transient: %v", err)
	}
	return err
}

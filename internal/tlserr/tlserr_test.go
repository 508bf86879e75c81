package tlserr

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
)

func TestIsCertificateError(t *testing.T) {
	remote := func(code uint8) error { return &net.OpError{Op: "remote error", Err: tls.AlertError(code)} }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"unknown authority", x509.UnknownAuthorityError{}, true},
		{"host name", x509.HostnameError{Host: "h"}, true},
		{"invalid certificate", x509.CertificateInvalidError{}, true},
		{"verification error", &tls.CertificateVerificationError{Err: errors.New("x")}, true},
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
		{"plain error", errors.New("boom"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wrapped := fmt.Errorf("dial 127.0.0.1:9092: %w", tt.err)
			if tt.err == nil {
				wrapped = nil
			}
			if got := IsCertificateError(wrapped); got != tt.want {
				t.Errorf("IsCertificateError(%v) = %v, want %v", wrapped, got, tt.want)
			}
		})
	}
}

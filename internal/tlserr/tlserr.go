// Package tlserr recognises TLS failures that retrying with the same settings cannot fix, for
// every client of the bridge (stream-sea REST and websocket, Kafka).
package tlserr

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
)

// IsCertificateError reports whether err is a TLS certificate failure that retrying with the
// same settings cannot fix: the client does not trust the server's certificate (unknown
// authority, host name not in the certificate, invalid certificate), or the server refused
// the client's certificate or its absence (see IsClientCertificateRefused).
func IsCertificateError(err error) bool {
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.HostnameError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.CertificateInvalidError](err); ok {
		return true
	}
	return IsClientCertificateRefused(err)
}

// TLS alerts (RFC 8446 section 6.2) by which a server refuses the client's certificate.
const (
	alertBadCertificate         tls.AlertError = 42
	alertUnsupportedCertificate tls.AlertError = 43
	alertCertificateRevoked     tls.AlertError = 44
	alertCertificateExpired     tls.AlertError = 45
	alertCertificateUnknown     tls.AlertError = 46
	alertUnknownCA              tls.AlertError = 48
	alertCertificateRequired    tls.AlertError = 116
)

// IsClientCertificateRefused reports whether err is a TLS alert from the server refusing the
// client's certificate: none was sent where one is required, or the server does not trust
// it. crypto/tls reports a received alert as a *net.OpError with Op "remote error" whose Err
// reads like the tls.AlertError of the same code.
func IsClientCertificateRefused(err error) bool {
	opErr, ok := errors.AsType[*net.OpError](err)
	if !ok || opErr.Op != "remote error" || opErr.Err == nil {
		return false
	}
	switch opErr.Err.Error() {
	case alertBadCertificate.Error(), alertUnsupportedCertificate.Error(), alertCertificateRevoked.Error(),
		alertCertificateExpired.Error(), alertCertificateUnknown.Error(), alertUnknownCA.Error(),
		alertCertificateRequired.Error():
		return true
	}
	return false
}

package streamsea

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

var (
	// ErrUnauthorized matches (errors.Is) an *APIError with status 401 or 403: the server
	// rejected the client's credentials or their rights. Retrying cannot fix it.
	ErrUnauthorized = errors.New("stream-sea: unauthorized")
	// ErrStreamNotFound matches (errors.Is) an *APIError with status 404: the stream named in
	// the request does not exist (or has no schema).
	ErrStreamNotFound = errors.New("stream-sea: stream not found")
)

// APIError is a non-2xx answer of the stream-sea REST API.
type APIError struct {
	Op      string   // the client operation, e.g. "publish", "describe stream"
	Status  int      // the HTTP status code
	Message string   // the "message" of the JSON error body, or the (truncated) raw body
	Errors  []string // the "errors" list of the JSON error body, if any
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("stream-sea ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(e.Status))
	if t := http.StatusText(e.Status); t != "" {
		b.WriteByte(' ')
		b.WriteString(t)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if len(e.Errors) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(e.Errors, "; "))
		b.WriteByte(')')
	}
	return b.String()
}

// Is makes ErrUnauthorized and ErrStreamNotFound match the statuses they stand for.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
	case ErrStreamNotFound:
		return e.Status == http.StatusNotFound
	}
	return false
}

// Retriable reports whether the same request may succeed later: 5xx, 429 and 408.
func (e *APIError) Retriable() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests ||
		e.Status == http.StatusRequestTimeout
}

// IsRetriable reports whether err, returned by a Client call, may go away by retrying the call:
// a retriable *APIError, or a transport, network or timeout error. Context cancellation, a
// certificate failure (IsCertificateError), and every other *APIError are not retriable.
func IsRetriable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if apiErr, ok := errors.AsType[*APIError](err); ok {
		return apiErr.Retriable()
	}
	if IsCertificateError(err) {
		return false
	}
	if _, ok := errors.AsType[*url.Error](err); ok {
		return true
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded)
}

// IsCertificateError reports whether err is a TLS certificate failure that retrying with the
// same settings cannot fix: the client does not trust the server's certificate (unknown
// authority, host name not in the certificate, invalid certificate), or the server refused
// the client's certificate or its absence (see isClientCertificateRefused).
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
	return isClientCertificateRefused(err)
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

// isClientCertificateRefused reports whether err is a TLS alert from the server refusing the
// client's certificate: none was sent where one is required, or the server does not trust
// it. crypto/tls reports a received alert as a *net.OpError with Op "remote error" whose Err
// reads like the tls.AlertError of the same code.
func isClientCertificateRefused(err error) bool {
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

package streamsea

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/seabridge/seabridge/internal/tlserr"
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
	// RetryAfter is the delay the server asked for in a Retry-After header (delay seconds
	// or an HTTP date) of a 429 or 503 answer; zero when it sent none or an unusable one.
	RetryAfter time.Duration
}

// RetryDelay returns RetryAfter: the pipeline runner waits exactly that long before retrying
// instead of its own backoff.
func (e *APIError) RetryDelay() time.Duration { return e.RetryAfter }

// parseRetryAfter reads a Retry-After header value: whole delay seconds or an HTTP date
// (a date in the past is no delay). It returns 0 for an empty or unusable value.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
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
	if e.RetryAfter > 0 {
		b.WriteString(" (retry after ")
		b.WriteString(e.RetryAfter.String())
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
// same settings cannot fix (see tlserr.IsCertificateError).
func IsCertificateError(err error) bool { return tlserr.IsCertificateError(err) }

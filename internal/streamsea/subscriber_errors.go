package streamsea

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/websocket"

	"github.com/seabridge/seabridge/internal/tlserr"
)

var (
	// ErrAuthFailed matches (errors.Is) an *AuthError: the server rejected the websocket
	// credentials. Reconnecting cannot fix it.
	ErrAuthFailed = errors.New("stream-sea: authentication failed")
	// ErrSubscribeFailed matches (errors.Is) a *SubscribeError: the server refused a
	// subscription (unknown stream, bad group id). Reconnecting cannot fix it.
	ErrSubscribeFailed = errors.New("stream-sea: subscription refused")
	// ErrDeadConnection means the server sent no frame and no ping for DeadAfter.
	ErrDeadConnection = errors.New("stream-sea: connection dead (no frame or ping)")
	// ErrSubscriberStopped is returned by Subscriber.Next once Run has returned without a
	// fatal error (its context was cancelled) and every buffered delivery was handed out.
	ErrSubscriberStopped = errors.New("stream-sea: subscriber stopped")
	// ErrAlreadyRunning is returned by a second call of Subscriber.Run.
	ErrAlreadyRunning = errors.New("stream-sea: subscriber already running")
	// ErrHandshakeRejected matches (errors.Is) a *HandshakeError: the server answered the
	// websocket upgrade request with an HTTP status instead of switching protocols.
	ErrHandshakeRejected = errors.New("stream-sea: websocket upgrade rejected")
)

// maxHandshakeBody bounds the response body kept in a HandshakeError.
const maxHandshakeBody = 1 << 10

// HandshakeError is an HTTP answer other than 101 Switching Protocols to the websocket
// upgrade request.
type HandshakeError struct {
	URL    string // the websocket URL dialled
	Status int    // the HTTP status code
	Body   string // the start of the response body (at most 1 KiB), may be empty
}

func (e *HandshakeError) Error() string {
	var b strings.Builder
	b.WriteString("stream-sea answered ")
	b.WriteString(strconv.Itoa(e.Status))
	if t := http.StatusText(e.Status); t != "" {
		b.WriteByte(' ')
		b.WriteString(t)
	}
	b.WriteString(" for ")
	b.WriteString(e.URL)
	if hint := e.hint(); hint != "" {
		b.WriteString(": ")
		b.WriteString(hint)
	}
	if e.Body != "" {
		b.WriteString("; response body: ")
		b.WriteString(strconv.Quote(e.Body))
	}
	return b.String()
}

// hint says what to check for a status that retrying cannot fix.
func (e *HandshakeError) hint() string {
	switch {
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return "check the client id and secret (or JWT), and any proxy in front of stream-sea"
	case e.Status == http.StatusNotFound:
		return "check the connection url"
	case !e.Retriable():
		return "check the connection url and that it points at stream-sea"
	}
	return ""
}

// Is makes a *HandshakeError match ErrHandshakeRejected.
func (e *HandshakeError) Is(target error) bool { return target == ErrHandshakeRejected }

// Retriable reports whether a later upgrade request may succeed: every status except the 4xx
// ones other than 408 Request Timeout and 429 Too Many Requests.
func (e *HandshakeError) Retriable() bool {
	return e.Status < 400 || e.Status >= 500 ||
		e.Status == http.StatusRequestTimeout || e.Status == http.StatusTooManyRequests
}

// dialError describes a failed websocket dial of url; resp is the dialer's response, if any
// (its body is not closed here).
func dialError(url string, resp *http.Response, err error) error {
	if errors.Is(err, websocket.ErrBadHandshake) && resp != nil {
		return &HandshakeError{URL: url, Status: resp.StatusCode, Body: handshakeBody(resp)}
	}
	if tlserr.IsClientCertificateRefused(err) {
		return fmt.Errorf("stream-sea dial %s: the server refused the client's TLS certificate "+
			"(check the TLS cert and key files, and that the server trusts their CA): %w", url, err)
	}
	if IsCertificateError(err) {
		return fmt.Errorf("stream-sea dial %s: the server's TLS certificate is not trusted "+
			"(check the TLS CA file and the host name of the connection url): %w", url, err)
	}
	return fmt.Errorf("stream-sea dial %s: %w", url, err)
}

// handshakeBody reads the start of a rejected upgrade's body, trimmed of surrounding space.
func handshakeBody(resp *http.Response) string {
	if resp.Body == nil {
		return ""
	}
	buf := make([]byte, maxHandshakeBody)
	n, _ := io.ReadFull(resp.Body, buf)
	return strings.TrimSpace(string(buf[:n]))
}

// AuthError is the server's refusal of an authenticate request.
type AuthError struct {
	ClientID string
	Message  string // the server's error message, may be empty
}

func (e *AuthError) Error() string {
	s := "stream-sea rejected the credentials of client " + strconv.Quote(e.ClientID)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is makes an *AuthError match ErrAuthFailed.
func (e *AuthError) Is(target error) bool { return target == ErrAuthFailed }

// SubscribeError is the server's refusal of a subscribe request.
type SubscribeError struct {
	Stream  string
	GroupID string
	Message string // the server's error message, may be empty
}

func (e *SubscribeError) Error() string {
	s := "stream-sea refused the subscription to stream " + strconv.Quote(e.Stream)
	if e.GroupID != "" {
		s += " (group " + e.GroupID + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is makes a *SubscribeError match ErrSubscribeFailed.
func (e *SubscribeError) Is(target error) bool { return target == ErrSubscribeFailed }

// isFatal reports whether err ends the subscriber instead of causing a reconnect. Refusals of
// the credentials or of a subscription always do. A rejected upgrade (a 4xx other than 408 and
// 429) or a TLS certificate failure (an untrusted server certificate, or a client certificate
// the server refused) does only while the subscriber has never connected: then it is a
// configuration error, afterwards more likely a restarting server or proxy.
func isFatal(err error, everConnected bool) bool {
	if errors.Is(err, ErrAuthFailed) || errors.Is(err, ErrSubscribeFailed) {
		return true
	}
	return !everConnected && isDialConfigError(err)
}

// isDialConfigError reports whether a dial failed in a way that retrying cannot fix.
func isDialConfigError(err error) bool {
	if he, ok := errors.AsType[*HandshakeError](err); ok {
		return !he.Retriable()
	}
	return IsCertificateError(err)
}

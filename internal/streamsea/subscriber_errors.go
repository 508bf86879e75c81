package streamsea

import (
	"errors"
	"strconv"
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
)

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

// isFatal reports whether err ends the subscriber instead of causing a reconnect.
func isFatal(err error) bool {
	return errors.Is(err, ErrAuthFailed) || errors.Is(err, ErrSubscribeFailed)
}

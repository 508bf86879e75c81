package streamsea

import "encoding/json"

// Websocket actions.
const (
	ActionAuthenticate = "authenticate"
	ActionSubscribe    = "subscribe"
	ActionSubscription = "subscription"
)

// Frame is one websocket message in either direction. Payload is kept as raw bytes so that a
// delivery's payload passes through without being decoded.
type Frame struct {
	ID         uint64          `json:"id"`
	Action     string          `json:"action"`
	Success    *bool           `json:"success,omitempty"`
	StreamName string          `json:"streamName,omitempty"`
	GroupID    string          `json:"groupId,omitempty"`
	Payload    json.RawMessage `json:"payload,omitempty"`
	Error      *FrameError     `json:"error,omitempty"`
}

// FrameError is the error object of a failed answer.
type FrameError struct {
	Message string `json:"message"`
}

// AuthPayload is the payload of an authenticate request.
type AuthPayload struct {
	Type         string `json:"type"` // "basic" or "jwt"
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret,omitempty"`
	JWT          string `json:"jwt,omitempty"`
}

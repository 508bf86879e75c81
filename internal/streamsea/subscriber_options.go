package streamsea

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/seabridge/seabridge/internal/backoff"
)

// Defaults of SubscriberOptions.
const (
	DefaultDeadAfter     = 60 * time.Second
	DefaultMaxFrameBytes = 16 << 20
	DefaultDialTimeout   = 10 * time.Second
	DefaultMaxHeld       = 1024
	DefaultCloseWait     = 5 * time.Second

	defaultBackoffInitial = 500 * time.Millisecond
	defaultBackoffMax     = 30 * time.Second
	streamsPath           = "/api/v1/streams"
)

// Subscription names one stream to subscribe to. GroupID is optional; when set it must be an
// RFC 4122 UUID, and every subscriber using it shares the stream's messages.
type Subscription struct {
	Stream  string
	GroupID string
}

// SubscriberOptions configures a Subscriber (and DialConn).
type SubscriberOptions struct {
	// URL is "ws(s)://host[:port]" or "http(s)://host[:port]" (mapped to ws/wss); the
	// websocket path "/api/v1/streams" is appended.
	URL          string
	ClientID     string
	ClientSecret string // basic authentication, used when JWT is nil
	// JWT, if set, selects JWT authentication; it is called before every (re)connect and
	// must return a fresh token.
	JWT           func(ctx context.Context) (string, error)
	Subscriptions []Subscription
	TLS           *tls.Config
	DeadAfter     time.Duration  // no frame or ping for this long = dead connection; default 60s
	MaxFrameBytes int64          // largest accepted websocket message; default 16 MiB
	Backoff       backoff.Policy // reconnect delays; defaults 500ms..30s
	DialTimeout   time.Duration  // bounds dial + authenticate + subscribe; default 10s
	// MaxHeld and MaxHeldBytes bound the deliveries held (read and not yet released): the
	// reader stops reading the websocket at either. MaxHeld defaults to 1024; MaxHeldBytes
	// (payload bytes) to no limit.
	MaxHeld      int
	MaxHeldBytes int64
	// CloseWait bounds Stop's closing handshake: how long the subscriber goes on reading
	// after its close frame for the server's close frame; default 5s.
	CloseWait time.Duration
	Hooks     Hooks
}

// Hooks are optional callbacks. They are called from the subscriber's goroutines (never two at
// once for one Subscriber) and must not block.
type Hooks struct {
	OnConnect       func() // authenticated and all subscriptions confirmed
	OnDisconnect    func(err error)
	OnReconnectWait func(attempt int, delay time.Duration, err error)
	OnProtocolError func(err error) // a malformed or unexpected frame was skipped
}

// Validate reports what is wrong with o, as NewSubscriber and DialConn would.
func (o SubscriberOptions) Validate() error {
	_, err := o.withDefaults()
	return err
}

// withDefaults validates o and returns a copy with defaults filled in and URL resolved to
// the websocket endpoint.
func (o SubscriberOptions) withDefaults() (SubscriberOptions, error) {
	wsURL, err := websocketURL(o.URL)
	if err != nil {
		return o, err
	}
	o.URL = wsURL
	if err := o.validate(); err != nil {
		return o, err
	}
	if o.DeadAfter <= 0 {
		o.DeadAfter = DefaultDeadAfter
	}
	if o.MaxFrameBytes <= 0 {
		o.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.MaxHeld <= 0 {
		o.MaxHeld = DefaultMaxHeld
	}
	if o.CloseWait <= 0 {
		o.CloseWait = DefaultCloseWait
	}
	if o.MaxHeldBytes < 0 {
		o.MaxHeldBytes = 0
	}
	if o.Backoff.Initial <= 0 {
		o.Backoff.Initial = defaultBackoffInitial
	}
	if o.Backoff.Max <= 0 {
		o.Backoff.Max = defaultBackoffMax
	}
	o.Subscriptions = append([]Subscription(nil), o.Subscriptions...)
	return o, nil
}

func (o *SubscriberOptions) validate() error {
	var errs []error
	if o.ClientID == "" {
		errs = append(errs, errors.New("client id is empty"))
	}
	if o.JWT == nil && o.ClientSecret == "" {
		errs = append(errs, errors.New("neither a client secret nor a JWT source is set"))
	}
	if len(o.Subscriptions) == 0 {
		errs = append(errs, errors.New("no subscriptions"))
	}
	seen := make(map[Subscription]bool, len(o.Subscriptions))
	for i, sub := range o.Subscriptions {
		switch {
		case sub.Stream == "":
			errs = append(errs, fmt.Errorf("subscriptions[%d]: stream is empty", i))
		case sub.GroupID != "" && !ValidUUID(sub.GroupID):
			errs = append(errs, fmt.Errorf("subscriptions[%d] (%s): group id %q is not an RFC 4122 UUID",
				i, sub.Stream, sub.GroupID))
		case seen[sub]:
			errs = append(errs, fmt.Errorf("subscriptions[%d] (%s): duplicate subscription", i, sub.Stream))
		}
		seen[sub] = true
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stream-sea subscriber options: %w", err)
	}
	return nil
}

// websocketURL maps raw to the websocket endpoint: http->ws, https->wss, and the streams path
// appended unless already present.
func websocketURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("stream-sea subscriber options: url: %w", err)
	}
	switch u.Scheme {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("stream-sea subscriber options: url %q: scheme must be ws, wss, http or https", raw)
	}
	if u.Host == "" {
		return "", fmt.Errorf("stream-sea subscriber options: url %q: no host", raw)
	}
	path := strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(path, streamsPath) {
		path += streamsPath
	}
	u.Path, u.RawPath = path, ""
	return u.String(), nil
}

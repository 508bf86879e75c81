// Package kafkautil builds kafka-go dialers, transports and clients from one set of connection
// settings (brokers, TLS, SASL), and checks that a cluster is reachable and a topic exists.
package kafkautil

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/seabridge/seabridge/internal/tlserr"
)

// SASL mechanisms accepted in SASL.Mechanism.
const (
	MechanismPlain       = "plain"
	MechanismSCRAMSHA256 = "scram-sha-256"
	MechanismSCRAMSHA512 = "scram-sha-512"
)

// defaultDialTimeout applies when Conn.DialTimeout is zero.
const defaultDialTimeout = 10 * time.Second

// SASL holds SASL credentials. An empty Mechanism disables SASL.
type SASL struct {
	Mechanism string // "plain", "scram-sha-256" or "scram-sha-512"
	Username  string
	Password  string
}

// Conn holds the settings needed to reach a Kafka cluster. It is plain data: every method builds
// fresh objects, and the caller owns what it gets back.
type Conn struct {
	Brokers     []string
	ClientID    string
	TLS         *tls.Config // nil: plaintext
	SASL        SASL
	DialTimeout time.Duration // default 10s
}

// Validate reports settings that cannot work, wrapped with ErrConfig.
func (c Conn) Validate() error {
	if len(c.Brokers) == 0 {
		return fmt.Errorf("%w: no brokers", ErrConfig)
	}
	_, err := c.mechanism()
	return err
}

func (c Conn) dialTimeout() time.Duration {
	if c.DialTimeout > 0 {
		return c.DialTimeout
	}
	return defaultDialTimeout
}

// mechanism returns the SASL mechanism, or nil when SASL is disabled.
func (c Conn) mechanism() (sasl.Mechanism, error) {
	var algo scram.Algorithm
	switch c.SASL.Mechanism {
	case "":
		return nil, nil
	case MechanismPlain:
		return plain.Mechanism{Username: c.SASL.Username, Password: c.SASL.Password}, nil
	case MechanismSCRAMSHA256:
		algo = scram.SHA256
	case MechanismSCRAMSHA512:
		algo = scram.SHA512
	default:
		return nil, fmt.Errorf("%w: unknown SASL mechanism %q", ErrConfig, c.SASL.Mechanism)
	}
	m, err := scram.Mechanism(algo, c.SASL.Username, c.SASL.Password)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return m, nil
}

// Dialer returns a kafka-go Dialer for Readers (consumer groups). Its connections read ahead
// and give the deadlines kafka-go sets a second's grace (readAheadConn, deadlineGrace).
func (c Conn) Dialer() (*kafka.Dialer, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	m, _ := c.mechanism()
	return &kafka.Dialer{
		ClientID:      c.ClientID,
		Timeout:       c.dialTimeout(),
		TLS:           c.TLS,
		SASLMechanism: m,
		// kafka-go's Conn reads 4 KiB at a time and sets a read deadline per message it
		// decodes; readAheadConn makes both cheap (it is beneath TLS, which it sees as bytes).
		DialFunc: dialReadAhead(&net.Dialer{}),
	}, nil
}

// Transport returns a kafka-go Transport for Writers and Clients. The caller closes it with
// CloseIdleConnections when done.
func (c Conn) Transport() (*kafka.Transport, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	m, _ := c.mechanism()
	return &kafka.Transport{
		Dial:        (&net.Dialer{Timeout: c.dialTimeout()}).DialContext,
		DialTimeout: c.dialTimeout(),
		ClientID:    c.ClientID,
		TLS:         c.TLS,
		SASL:        m,
	}, nil
}

// Client returns a kafka-go Client over a new Transport, and that Transport so the caller can
// close it (CloseIdleConnections) when done. Requests time out after twice the dial timeout
// unless their ctx ends first.
func (c Conn) Client() (*kafka.Client, *kafka.Transport, error) {
	t, err := c.Transport()
	if err != nil {
		return nil, nil, err
	}
	return &kafka.Client{Addr: kafka.TCP(c.Brokers...), Transport: t, Timeout: 2 * c.dialTimeout()}, t, nil
}

// Check connects to the brokers in order until one accepts (TLS and SASL included) and reads
// the cluster metadata from it. Errors wrap ErrConfig or ErrAuth when retrying cannot help;
// other errors (network) are transient.
func (c Conn) Check(ctx context.Context) error {
	d, err := c.Dialer()
	if err != nil {
		return err
	}
	var last error
	for _, broker := range c.Brokers {
		last = checkBroker(ctx, d, broker)
		if last == nil || errors.Is(last, ErrAuth) || ctx.Err() != nil {
			return last
		}
	}
	return last
}

func checkBroker(ctx context.Context, d *kafka.Dialer, broker string) error {
	conn, err := d.DialContext(ctx, "tcp", broker)
	if err != nil {
		return Classify(fmt.Errorf("kafka broker %s: %w", broker, err))
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	if _, err := conn.Brokers(); err != nil {
		return Classify(fmt.Errorf("kafka metadata from %s: %w", broker, err))
	}
	return nil
}

// Metadata reads metadata for topics (all topics when nil) and classifies errors like Check.
func Metadata(ctx context.Context, client *kafka.Client, topics []string) (*kafka.MetadataResponse, error) {
	if topics == nil {
		topics = []string{}
	}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, Classify(fmt.Errorf("kafka metadata from %v: %w", client.Addr, err))
	}
	return md, nil
}

// CheckTopics returns an error wrapping ErrTopicMissing naming every one of topics that the
// cluster does not have, or a Metadata error.
func CheckTopics(ctx context.Context, client *kafka.Client, topics ...string) error {
	md, err := Metadata(ctx, client, topics)
	if err != nil {
		return err
	}
	found := make(map[string]bool, len(md.Topics))
	for _, t := range md.Topics {
		found[t.Name] = t.Error == nil && len(t.Partitions) > 0
	}
	var missing []string
	for _, name := range topics {
		if !found[name] {
			missing = append(missing, strconv.Quote(name))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", ErrTopicMissing, strings.Join(missing, ", "))
	}
	return nil
}

// IsAuthError reports whether err is a SASL, authorization or TLS certificate failure: the
// client does not trust the broker's certificate, or the broker refused the client's
// certificate or its absence.
func IsAuthError(err error) bool {
	switch {
	case errors.Is(err, kafka.SASLAuthenticationFailed),
		errors.Is(err, kafka.UnsupportedSASLMechanism),
		errors.Is(err, kafka.IllegalSASLState),
		errors.Is(err, kafka.TopicAuthorizationFailed),
		errors.Is(err, kafka.GroupAuthorizationFailed),
		errors.Is(err, kafka.ClusterAuthorizationFailed),
		tlserr.IsCertificateError(err):
		return true
	}
	return false
}

// Classify wraps err with ErrAuth when it is an authentication failure, and returns it
// unchanged otherwise.
func Classify(err error) error {
	if err == nil || errors.Is(err, ErrAuth) || !IsAuthError(err) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrAuth, err)
}

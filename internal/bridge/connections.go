package bridge

import (
	"context"
	"fmt"

	"github.com/seabridge/seabridge/internal/backoff"
	"github.com/seabridge/seabridge/internal/config"
	"github.com/seabridge/seabridge/internal/kafkautil"
	"github.com/seabridge/seabridge/internal/streamsea"
)

// KafkaConn returns the client settings of the Kafka connection name of cfg.
func KafkaConn(cfg *config.Config, name string) (kafkautil.Conn, error) {
	c, ok := cfg.Kafka[name]
	if !ok {
		return kafkautil.Conn{}, fmt.Errorf("no kafka connection %q", name)
	}
	tlsCfg, err := tlsConfig(c.TLS)
	if err != nil {
		return kafkautil.Conn{}, fmt.Errorf("kafka connection %q: %w", name, err)
	}
	return kafkautil.Conn{
		Brokers: c.Brokers, ClientID: c.ClientID, TLS: tlsCfg, DialTimeout: c.DialTimeout,
		SASL: kafkautil.SASL{Mechanism: c.SASL.Mechanism, Username: c.SASL.Username, Password: c.SASL.Password.Value()},
	}, nil
}

// StreamseaClient returns a REST client of the stream-sea connection name of cfg.
func StreamseaClient(cfg *config.Config, name, version string) (*streamsea.Client, error) {
	c, ok := cfg.Streamsea[name]
	if !ok {
		return nil, fmt.Errorf("no stream-sea connection %q", name)
	}
	tlsCfg, err := tlsConfig(c.TLS)
	if err != nil {
		return nil, fmt.Errorf("stream-sea connection %q: %w", name, err)
	}
	client, err := streamsea.NewClient(streamsea.ClientOptions{
		BaseURL: c.URL, ClientID: c.ClientID, ClientSecret: c.ClientSecret.Value(), Gzip: c.Gzip,
		Timeout: c.RequestTimeout, TLS: tlsCfg, UserAgent: "seabridge/" + version,
	})
	if err != nil {
		return nil, fmt.Errorf("stream-sea connection %q: %w", name, err)
	}
	return client, nil
}

// StreamseaSubscriber returns the websocket settings of the stream-sea connection name of
// cfg, subscribing to subs: its URL, credentials (a minted or fixed JWT, else the secret), TLS,
// timeouts and reconnect backoff.
func StreamseaSubscriber(cfg *config.Config, name string, subs []streamsea.Subscription) (streamsea.SubscriberOptions, error) {
	c, ok := cfg.Streamsea[name]
	if !ok {
		return streamsea.SubscriberOptions{}, fmt.Errorf("no stream-sea connection %q", name)
	}
	tlsCfg, err := tlsConfig(c.TLS)
	if err != nil {
		return streamsea.SubscriberOptions{}, fmt.Errorf("stream-sea connection %q: %w", name, err)
	}
	opts := streamsea.SubscriberOptions{
		URL: c.URL, ClientID: c.ClientID, ClientSecret: c.ClientSecret.Value(),
		Subscriptions: subs, TLS: tlsCfg, DeadAfter: c.DeadAfter, MaxFrameBytes: int64(c.MaxFrameBytes),
		Backoff:     backoff.Policy{Initial: c.ReconnectInitial, Max: c.ReconnectMax},
		DialTimeout: c.RequestTimeout,
	}
	switch {
	case c.JWTPrivateKey != "":
		signer, err := streamsea.NewJWTSigner([]byte(c.JWTPrivateKey.Value()),
			streamsea.JWTOptions{TTL: c.JWTTTL, MustFanout: c.JWTMustFanout})
		if err != nil {
			return streamsea.SubscriberOptions{}, fmt.Errorf("stream-sea connection %q: %w", name, err)
		}
		opts.JWT = signer.Token
	case c.JWT != "":
		jwt := c.JWT.Value()
		opts.JWT = func(context.Context) (string, error) { return jwt, nil }
	}
	return opts, nil
}

package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seabridge/seabridge/internal/streamsea"
)

// Validate checks a configuration whose *_file secrets and schema files have been read (Load
// does that): enums, ranges, required keys, keys set on the wrong source or sink type, connection
// references, names, templates and schemas. It returns an *Errors listing every problem, or nil.
// It only reads the file system to check that TLS files exist.
func (c *Config) Validate() error {
	v := &validator{cfg: c, errs: &Errors{}}
	v.bridge()
	v.http()
	v.streamseaConnections()
	v.kafkaConnections()
	v.pipelines()
	return v.errs.err()
}

type validator struct {
	cfg  *Config
	errs *Errors
}

func (v *validator) add(path, format string, args ...any) {
	v.errs.add(path, fmt.Sprintf(format, args...))
}

func (v *validator) oneOf(path, value string, allowed ...string) {
	if !slices.Contains(allowed, value) {
		v.add(path, "%q is not one of %s", value, quoteAll(allowed))
	}
}

func (v *validator) positive(path string, d time.Duration) {
	if d <= 0 {
		v.add(path, "must be a positive duration, not %s", d)
	}
}

func (v *validator) atLeast(path string, n, min int) {
	if n < min {
		v.add(path, "must be at least %d, not %d", min, n)
	}
}

func (v *validator) bridge() {
	b := v.cfg.Bridge
	v.positive("bridge.shutdown_timeout", b.ShutdownTimeout)
	v.oneOf("bridge.log_level", b.LogLevel, enumOf[Bridge]("log_level")...)
	v.oneOf("bridge.log_format", b.LogFormat, enumOf[Bridge]("log_format")...)
	v.oneOf("bridge.on_pipeline_failure", b.OnPipelineFailure, enumOf[Bridge]("on_pipeline_failure")...)
}

func (v *validator) http() {
	if l := v.cfg.HTTP.Listen; l != "" {
		if err := checkHostPort(l, true); err != nil {
			v.add("http.listen", "%q: %v", l, err)
		}
	}
}

// checkHostPort accepts host:port with a numeric port; the host may be empty when emptyHost.
func checkHostPort(s string, emptyHost bool) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("not host:port")
	}
	if host == "" && !emptyHost {
		return fmt.Errorf("host is empty")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

// use says how enabled pipelines use each connection: credentials are only required of
// connections in use.
type use struct{ source, sink bool }

func (v *validator) streamseaUses() map[string]use {
	uses := map[string]use{}
	for _, p := range v.cfg.Pipelines {
		if !p.Enabled {
			continue
		}
		if p.Source.Type == EndpointStreamsea {
			u := uses[p.Source.Connection]
			u.source = true
			uses[p.Source.Connection] = u
		}
		if p.Sink.Type == EndpointStreamsea {
			u := uses[p.Sink.Connection]
			u.sink = true
			uses[p.Sink.Connection] = u
		}
	}
	return uses
}

func (v *validator) streamseaConnections() {
	uses := v.streamseaUses()
	for _, name := range sortedKeys(v.cfg.Streamsea) {
		c := v.cfg.Streamsea[name]
		path := fmt.Sprintf("streamsea[%q]", name)
		v.streamseaURL(path, c)
		v.positive(path+".request_timeout", c.RequestTimeout)
		v.positive(path+".dead_after", c.DeadAfter)
		v.atLeast(path+".max_frame_bytes", c.MaxFrameBytes, 1)
		v.positive(path+".reconnect_initial", c.ReconnectInitial)
		if c.ReconnectMax < c.ReconnectInitial {
			v.add(path+".reconnect_max", "must not be less than reconnect_initial (%s)", c.ReconnectInitial)
		}
		v.tls(path+".tls", c.TLS)
		v.streamseaJWT(path, c)
		v.streamseaCredentials(path, c, uses[name])
	}
}

func (v *validator) streamseaURL(path string, c StreamseaConnection) {
	switch {
	case holdsCredentials(c.URL):
		v.add(path+".url", "%q holds credentials (user:password@): remove them and set client_id and client_secret (or client_secret_file)", shownURL(c.URL))
		return
	case hasQuery(c.URL):
		v.add(path+".url", "%q has a query or fragment: stream-sea's API takes none; give the base URL only, and credentials in client_id and client_secret (or client_secret_file)", shownURL(c.URL))
		return
	}
	u, err := url.Parse(c.URL)
	switch {
	case err != nil || u.Host == "":
		v.add(path+".url", "%q is not an http(s) URL with a host", shownURL(c.URL))
	case u.Scheme != "http" && u.Scheme != "https":
		v.add(path+".url", "scheme must be http or https, not %q", u.Scheme)
	case u.Scheme == "http" && c.TLS.Enabled:
		v.add(path+".tls.enabled", "the url is http: use an https url for TLS")
	}
}

func (v *validator) streamseaCredentials(path string, c StreamseaConnection, u use) {
	if !u.source && !u.sink {
		return
	}
	if c.ClientID == "" {
		v.add(path+".client_id", "required: a pipeline uses this connection")
	}
	switch {
	case u.sink && c.ClientSecret == "":
		v.add(path+".client_secret", "required (or client_secret_file): a sink publishes over REST, which needs it")
	case c.ClientSecret == "" && c.JWT == "" && c.JWTPrivateKey == "":
		v.add(path+".client_secret", "required (or client_secret_file, jwt, jwt_file, jwt_private_key_file): a pipeline uses this connection")
	}
}

// streamseaJWT checks the keys of tokens minted from a private key: the key parses as an RSA
// private key, it does not compete with a fixed jwt, and the token lifetime is whole seconds.
func (v *validator) streamseaJWT(path string, c StreamseaConnection) {
	keyPath := path + ".jwt_private_key_file"
	hasKey := c.JWTPrivateKey != "" || c.JWTPrivateKeyFile != ""
	if msg := jwtKeyConflict(c); msg != "" {
		v.add(keyPath, "%s", msg)
	}
	if c.JWTTTL < time.Second {
		v.add(path+".jwt_ttl", "must be at least 1s, not %s", c.JWTTTL)
	}
	if c.JWTMustFanout && !hasKey {
		v.add(path+".jwt_must_fanout", "only applies to tokens minted from jwt_private_key_file")
	}
	if c.JWTPrivateKey == "" {
		return
	}
	_, err := streamsea.NewJWTSigner([]byte(c.JWTPrivateKey.Value()), streamsea.JWTOptions{})
	switch {
	case err != nil && c.JWTPrivateKeyFile != "":
		v.add(keyPath, "%s: %v", c.JWTPrivateKeyFile, err)
	case err != nil:
		v.add(keyPath, "%v", err)
	}
}

// jwtKeyConflict reports a private key set together with a fixed jwt, or returns "".
func jwtKeyConflict(c StreamseaConnection) string {
	if c.JWTPrivateKey == "" && c.JWTPrivateKeyFile == "" {
		return ""
	}
	switch {
	case c.JWTFile != "":
		return "set either jwt_private_key_file or jwt_file, not both"
	case c.JWT != "":
		return "set either jwt_private_key_file or jwt, not both"
	}
	return ""
}

func (v *validator) tls(path string, t TLS) {
	if (t.CertFile == "") != (t.KeyFile == "") {
		v.add(path+".cert_file", "cert_file and key_file must be set together")
	}
	files := []struct{ key, file string }{{"ca_file", t.CAFile}, {"cert_file", t.CertFile}, {"key_file", t.KeyFile}}
	for _, f := range files {
		if f.file == "" {
			continue
		}
		if _, err := os.Stat(f.file); err != nil {
			v.add(path+"."+f.key, "%v", err)
		}
	}
}

func (v *validator) kafkaConnections() {
	for _, name := range sortedKeys(v.cfg.Kafka) {
		c := v.cfg.Kafka[name]
		path := fmt.Sprintf("kafka[%q]", name)
		if len(c.Brokers) == 0 {
			v.add(path+".brokers", "must not be empty")
		}
		for i, b := range c.Brokers {
			if strings.Contains(b, "@") {
				v.add(fmt.Sprintf("%s.brokers[%d]", path, i), "holds credentials (user:password@): remove them and set [kafka.NAME.sasl]")
				continue
			}
			if hasQuery(b) {
				v.add(fmt.Sprintf("%s.brokers[%d]", path, i), "%q has a query or fragment: a broker address is host:port; credentials go in [kafka.NAME.sasl]", shownURL(b))
				continue
			}
			if err := checkHostPort(b, false); err != nil {
				v.add(fmt.Sprintf("%s.brokers[%d]", path, i), "%q: %v", b, err)
			}
		}
		v.positive(path+".dial_timeout", c.DialTimeout)
		v.tls(path+".tls", c.TLS)
		v.sasl(path+".sasl", c.SASL)
	}
}

func (v *validator) sasl(path string, s SASL) {
	if s.Mechanism == "" {
		if s.Username != "" || s.Password != "" {
			v.add(path+".mechanism", "required when username or password is set")
		}
		return
	}
	v.oneOf(path+".mechanism", s.Mechanism, slices.DeleteFunc(enumOf[SASL]("mechanism"), func(m string) bool { return m == "" })...)
	if s.Username == "" {
		v.add(path+".username", "required with mechanism %q", s.Mechanism)
	}
	if s.Password == "" {
		v.add(path+".password", "required (or password_file) with mechanism %q", s.Mechanism)
	}
}

func quoteAll(values []string) string {
	q := make([]string, len(values))
	for i, s := range values {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

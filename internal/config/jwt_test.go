package config

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func rsaKeyPEM(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// TestJWTPrivateKeyFile loads a source-only connection that authenticates with minted tokens:
// the key is read (relative to the config file) and never printed.
func TestJWTPrivateKeyFile(t *testing.T) {
	dir := t.TempDir()
	keyPEM := rsaKeyPEM(t)
	writeFile(t, dir, "bridge.key", keyPEM)
	path := writeFile(t, dir, "bridge.toml", `
[streamsea.default]
client_id = "bridge"
client_secret = "rest-secret"
jwt_private_key_file = "bridge.key"
jwt_ttl = "15m"
`+pipelinesOnly)

	c, err := Load(path, []string{"BRIDGE_STREAMSEA__DEFAULT__JWT_MUST_FANOUT=true"})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	s := c.Streamsea[DefaultConnection]
	if s.JWTPrivateKey.Value() != keyPEM {
		t.Errorf("JWTPrivateKey does not hold the key file's contents")
	}
	got := []any{s.JWTPrivateKeyFile, s.JWTTTL, s.JWTMustFanout}
	want := []any{filepath.Join(dir, "bridge.key"), 15 * time.Minute, true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("file, ttl, must fanout = %v, want %v", got, want)
	}
	keyLines := strings.Split(strings.TrimSpace(keyPEM), "\n")
	assertRedacted(t, c, append(keyLines[1:len(keyLines)-1], "rest-secret"))
	if strings.Contains(c.String(), "PRIVATE KEY") {
		t.Errorf("String() shows the key:\n%s", c.String())
	}
}

func TestJWTPrivateKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "blank.key", "\n  \n")
	writeFile(t, dir, "bridge.key", rsaKeyPEM(t))
	writeFile(t, dir, "token.txt", "a.b.c\n")
	tests := []struct {
		name, toml string
		want       []string
	}{
		{"blank file", `jwt_private_key_file = "blank.key"`, []string{
			`streamsea["default"].jwt_private_key_file: ` + filepath.Join(dir, "blank.key") + ` is empty`,
		}},
		{"with jwt_file", "jwt_private_key_file = \"bridge.key\"\njwt_file = \"token.txt\"", []string{
			`streamsea["default"].jwt_private_key_file: set either jwt_private_key_file or jwt_file, not both`,
		}},
		{"with jwt", "jwt_private_key_file = \"bridge.key\"\njwt = \"a.b.c\"", []string{
			`streamsea["default"].jwt_private_key_file: set either jwt_private_key_file or jwt, not both`,
		}},
		{"ttl", "jwt_private_key_file = \"bridge.key\"\njwt_ttl = \"-1h\"", []string{
			`streamsea["default"].jwt_ttl: must be at least 1s, not -1h0m0s`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, dir, "bridge.toml", "[streamsea.default]\nclient_id = \"bridge\"\nclient_secret = \"s\"\n"+tt.toml+"\n"+pipelinesOnly)
			_, err := Load(path, nil)
			if err == nil {
				t.Fatal("Load accepted the configuration")
			}
			if got := errorLines(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestValidateJWTPrivateKey checks a hand-built configuration, whose key is set directly.
func TestValidateJWTPrivateKey(t *testing.T) {
	keyPEM := Secret(rsaKeyPEM(t))
	upstream := func(c *Config) {
		p := DefaultPipeline(EndpointStreamsea, EndpointKafka)
		p.Name, p.Source.Streams, p.Sink.Topic, p.DeadLetter.Policy = "up", []string{"s"}, "t", PolicyDrop
		c.Pipelines = []Pipeline{p}
	}
	tests := []struct {
		name   string
		mutate func(c *Config, s *StreamseaConnection)
		want   []string
	}{
		{"a key suffices for a source", func(c *Config, s *StreamseaConnection) {
			upstream(c)
			s.ClientSecret, s.JWTPrivateKey, s.JWTMustFanout = "", keyPEM, true
		}, nil},
		{"not for a sink", func(c *Config, s *StreamseaConnection) {
			s.ClientSecret, s.JWTPrivateKey = "", keyPEM
		}, []string{
			`streamsea["default"].client_secret: required (or client_secret_file): a sink publishes over REST, which needs it`,
		}},
		{"not a key", func(c *Config, s *StreamseaConnection) {
			s.JWTPrivateKey = "not a key"
		}, []string{`streamsea["default"].jwt_private_key_file: stream-sea jwt private key: no PEM block found`}},
		{"with a fixed jwt", func(c *Config, s *StreamseaConnection) {
			s.JWTPrivateKey, s.JWT = keyPEM, "a.b.c"
		}, []string{`streamsea["default"].jwt_private_key_file: set either jwt_private_key_file or jwt, not both`}},
		{"ttl and fanout without a key", func(c *Config, s *StreamseaConnection) {
			s.JWTTTL, s.JWTMustFanout = 999*time.Millisecond, true
		}, []string{
			`streamsea["default"].jwt_ttl: must be at least 1s, not 999ms`,
			`streamsea["default"].jwt_must_fanout: only applies to tokens minted from jwt_private_key_file`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := built()
			s := c.Streamsea[DefaultConnection]
			tt.mutate(c, &s)
			c.Streamsea[DefaultConnection] = s
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if got := errorLines(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/knadh/koanf/parsers/toml/v2"
)

// writeFile writes content to name under dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// withSecrets is base + down with every secret given as a file relative to the config file.
const withSecrets = `
[streamsea.default]
client_id = "bridge"
client_secret_file = "secret.txt"
jwt_file = "jwt.txt"
[kafka.default.sasl]
mechanism = "scram-sha-512"
username = "bridge"
password_file = "password.txt"
` + pipelinesOnly

const pipelinesOnly = `
[[pipelines]]
name = "up"
[pipelines.source]
type = "streamsea"
streams = ["s"]
[pipelines.sink]
type = "kafka"
topic = "t"
[pipelines.dead_letter]
policy = "drop"
`

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "secret.txt", "s3cr3t-value\n")
	writeFile(t, dir, "jwt.txt", "eyJ.jwt.value\r\n")
	writeFile(t, dir, "password.txt", "kafka-password")
	path := writeFile(t, dir, "bridge.toml", withSecrets)

	c, err := Load(path, nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	s, k := c.Streamsea["default"], c.Kafka["default"]
	got := []string{s.ClientSecret.Value(), s.JWT.Value(), k.SASL.Password.Value()}
	want := []string{"s3cr3t-value", "eyJ.jwt.value", "kafka-password"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("secrets = %q, want %q", got, want)
	}
	if s.ClientSecretFile != filepath.Join(dir, "secret.txt") {
		t.Errorf("client_secret_file = %q, want it resolved against the config's directory", s.ClientSecretFile)
	}
	assertRedacted(t, c, want)
}

func TestSecretFileErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "empty.txt", "\n")
	tests := []struct {
		name string
		toml string
		want string
	}{
		{"both set", `
[streamsea.default]
client_id = "bridge"
client_secret = "inline"
client_secret_file = "empty.txt"
`, `streamsea["default"].client_secret: set either client_secret or client_secret_file, not both`},
		{"empty file", `
[streamsea.default]
client_id = "bridge"
client_secret_file = "empty.txt"
`, `streamsea["default"].client_secret_file: ` + filepath.Join(dir, "empty.txt") + ` is empty`},
		{"missing file", `
[streamsea.default]
client_id = "bridge"
client_secret = "x"
[kafka.default.sasl]
mechanism = "plain"
username = "u"
password_file = "missing.txt"
`, `kafka["default"].sasl.password_file: open ` + filepath.Join(dir, "missing.txt") + `: no such file or directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, dir, "bridge.toml", tt.toml+pipelinesOnly)
			_, err := Load(path, nil)
			if err == nil {
				t.Fatal("Load accepted the configuration")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			lines := errorLines(t, err)
			if len(lines) == 0 || lines[0] != tt.want {
				t.Errorf("errors\n got %q\nwant first %q", lines, tt.want)
			}
		})
	}
}

// assertRedacted checks that no secret appears in any printed form of c.
func assertRedacted(t *testing.T, c *Config, secrets []string) {
	t.Helper()
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "cfg", c, "conn", c.Streamsea["default"])
	var jsonLogged bytes.Buffer
	slog.New(slog.NewJSONHandler(&jsonLogged, nil)).Info("config", "conn", c.Kafka["default"])
	encoded, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"String": c.String(),
		"%v":     fmt.Sprintf("%v", *c),
		"%+v":    fmt.Sprintf("%+v", *c),
		"%#v":    fmt.Sprintf("%#v", *c),
		"slog":   logged.String() + jsonLogged.String(),
		"json":   string(encoded),
	}
	for name, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s output shows the secret %q:\n%s", name, s, out)
			}
		}
	}
	if !strings.Contains(c.String(), redacted) {
		t.Errorf("String() does not mark redacted secrets:\n%s", c.String())
	}
}

func TestStringIsTOML(t *testing.T) {
	c, err := LoadBytes([]byte(base+down+`
[pipelines.sink.schema]
name = "out"
version = 3
fields = [{ name = "o", type = "object", fields = [{ name = "x", type = "integer" }] }]
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	out := c.String()
	if _, err := toml.Parser().Unmarshal([]byte(out)); err != nil {
		t.Fatalf("String() is not TOML: %v\n%s", err, out)
	}
	for _, want := range []string{"shutdown_timeout = '30s'", "version = 3\n", "client_secret = '[redacted]'", "name = 'down'"} {
		if !strings.Contains(out, want) {
			t.Errorf("String() lacks %q:\n%s", want, out)
		}
	}
}

func TestSecretFormatting(t *testing.T) {
	s := Secret("hunter2")
	for _, out := range []string{s.String(), fmt.Sprint(s), fmt.Sprintf("%#v", s), fmt.Sprintf("%q", s)} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("secret printed as %q", out)
		}
	}
	if Secret("").String() != "" {
		t.Error("an empty secret should print empty")
	}
	if s.Value() != "hunter2" {
		t.Errorf("Value() = %q", s.Value())
	}
}

func TestErrorsDoNotShowSecrets(t *testing.T) {
	env := []string{
		"BRIDGE_STREAMSEA__DEFAULT__CLIENT_SECRT=hunter2",
		"BRIDGE_KAFKA__DEFAULT__SASL__PASSWORD=hunter3",
	}
	_, err := LoadBytes([]byte(base+`
[streamsea.other]
client_secret = ["hunter4"]
`), env)
	if err == nil {
		t.Fatal("LoadBytes accepted the configuration")
	}
	for _, s := range []string{"hunter2", "hunter3", "hunter4"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error shows a secret:\n%v", err)
		}
	}
}

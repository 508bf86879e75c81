package config

import (
	"strings"
	"testing"
)

// TestCredentialsInURLsAreRefusedAndNeverShown: a secret written into a URL's userinfo (or a
// broker address) is an error at the key, and no message or print shows it.
func TestCredentialsInURLsAreRefusedAndNeverShown(t *testing.T) {
	const secret = "S3CRET-in-url"
	cases := []struct {
		name, toml string
		env        []string
		want       string
	}{
		{"http userinfo", "url = \"http://bridge:" + secret + "@127.0.0.1:3104\"", nil,
			`streamsea["default"].url: "http://[redacted]@127.0.0.1:3104" holds credentials (user:password@): remove them and set client_id and client_secret (or client_secret_file)`},
		{"user only", "url = \"https://" + secret + "@host/x@y\"", nil,
			`streamsea["default"].url: "https://[redacted]@host/x@y" holds credentials`},
		{"unparsable", "url = \"http://bridge:" + secret + " x@host\"", nil,
			`streamsea["default"].url: "http://[redacted]@host" holds credentials`},
		{"no scheme", "url = \"bridge:" + secret + "@host:3104\"", nil,
			`streamsea["default"].url: "[redacted]@host:3104" holds credentials`},
		{"from the environment", "", []string{"BRIDGE_STREAMSEA__DEFAULT__URL=http://u:" + secret + "@host"},
			`streamsea["default"].url: "http://[redacted]@host" holds credentials`},
		{"kafka broker", "[kafka.default]\nbrokers = [\"bridge:" + secret + "@kafka:9092\"]", nil,
			`kafka["default"].brokers[0]: holds credentials (user:password@): remove them and set [kafka.NAME.sasl]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			toml := base + "\n" + c.toml + "\n"
			if strings.HasPrefix(c.toml, "url") {
				toml = strings.Replace(base, "[streamsea.default]\n", "[streamsea.default]\n"+c.toml+"\n", 1)
			}
			_, err := LoadBytes([]byte(toml), c.env)
			if err == nil {
				t.Fatal("LoadBytes accepted credentials in a URL")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error shows the secret:\n%v", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error:\n%v\nwant it to contain\n%s", err, c.want)
			}
		})
	}
}

func TestPrintAndWebsocketURLHideURLCredentials(t *testing.T) {
	c := built()
	s := c.Streamsea[DefaultConnection]
	s.URL = "http://bridge:S3CRET@127.0.0.1:3104/base"
	c.Streamsea[DefaultConnection] = s
	if out := c.String(); strings.Contains(out, "S3CRET") || !strings.Contains(out, `http://[redacted]@127.0.0.1:3104/base`) {
		t.Errorf("String shows the URL's credentials or loses the URL:\n%s", out)
	}
	if ws := s.WebsocketURL(); ws != "ws://127.0.0.1:3104/base/api/v1/streams" {
		t.Errorf("WebsocketURL = %q", ws)
	}
}

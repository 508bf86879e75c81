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
		{"query token", "url = \"http://127.0.0.1:3104?token=" + secret + "\"", nil,
			`streamsea["default"].url: "http://127.0.0.1:3104?[redacted]" has a query or fragment: stream-sea's API takes none`},
		{"query after a path", "url = \"https://host/base/?x=1&password=" + secret + "\"", nil,
			`streamsea["default"].url: "https://host/base/?[redacted]" has a query or fragment`},
		{"fragment", "url = \"http://host#" + secret + "\"", nil,
			`streamsea["default"].url: "http://host#[redacted]" has a query or fragment`},
		{"password holding a question mark", "url = \"http://bridge:pa?" + secret + "@host\"", nil,
			`streamsea["default"].url: "http://[redacted]?[redacted]" holds credentials`},
		{"query from the environment", "", []string{"BRIDGE_STREAMSEA__DEFAULT__URL=http://host:3104?secret=" + secret},
			`streamsea["default"].url: "http://host:3104?[redacted]" has a query or fragment`},
		{"query in a broker", "[kafka.default]\nbrokers = [\"kafka:9092?password=" + secret + "\"]", nil,
			`kafka["default"].brokers[0]: "kafka:9092?[redacted]" has a query or fragment: a broker address is host:port`},
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

// TestShownURL: what shownURL hides, and that it leaves a URL without secrets as it is.
func TestShownURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"http://127.0.0.1:3104", "http://127.0.0.1:3104"},
		{"https://host/base/", "https://host/base/"},
		{"http://host?", "http://host?"},
		{"http://host?token=x", "http://host?[redacted]"},
		{"http://host/p?a=1#f", "http://host/p?[redacted]"},
		{"http://host#f", "http://host#[redacted]"},
		{"http://u:p@host/x?t=1", "http://[redacted]@host/x?[redacted]"},
		{"http://u:p/q@host/x", "http://[redacted]@host/x"},
		{"http://u:p?q@host/x", "http://[redacted]?[redacted]"},
		{"http://host/path?email=a@b", "http://host/path?[redacted]"},
	} {
		if got := shownURL(c.in); got != c.want {
			t.Errorf("shownURL(%q) = %q, want %q", c.in, got, c.want)
		}
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
	s.URL = "https://127.0.0.1:3104/base?token=S3CRET#S3CRET"
	c.Streamsea[DefaultConnection] = s
	if out := c.String(); strings.Contains(out, "S3CRET") || !strings.Contains(out, `https://127.0.0.1:3104/base?[redacted]`) {
		t.Errorf("String shows the URL's query or loses the URL:\n%s", out)
	}
	if ws := s.WebsocketURL(); ws != "wss://127.0.0.1:3104/base/api/v1/streams" {
		t.Errorf("WebsocketURL = %q, want it without the query and fragment", ws)
	}
}

// TestGoldenURLSecretsAreHidden: no error of the URL secrets golden case shows a secret, so
// that rewriting the golden file with -update cannot bless a leak.
func TestGoldenURLSecretsAreHidden(t *testing.T) {
	_, err := Load("testdata/url_secrets.bad.toml", nil)
	if err == nil || strings.Contains(err.Error(), "S3") || strings.Contains(err.Error(), "CRET") {
		t.Errorf("the errors show a secret, or there are none:\n%v", err)
	}
}

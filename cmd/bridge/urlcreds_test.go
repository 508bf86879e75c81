package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestURLCredentialsAreNeverEchoed: validate, validate --print and run refuse a secret in a
// URL's userinfo or query, from the file or the environment, with exit code 2, and never
// print it.
func TestURLCredentialsAreNeverEchoed(t *testing.T) {
	const secret = "S3CRET-in-url"
	dir := t.TempDir()
	write := func(name, url string) string {
		path := filepath.Join(dir, name)
		content := "[streamsea.default]\nurl = \"" + url + "\"\nclient_id = \"bridge\"\nclient_secret = \"x\"\n" +
			"[[pipelines]]\nname = \"up\"\n[pipelines.source]\ntype = \"streamsea\"\nstreams = [\"s\"]\n" +
			"[pipelines.sink]\ntype = \"kafka\"\ntopic = \"t\"\n[pipelines.dead_letter]\npolicy = \"drop\"\n"
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	inFile := write("userinfo.toml", "http://bridge:"+secret+"@127.0.0.1:1")
	inQuery := write("query.toml", "http://127.0.0.1:1/?token="+secret)
	clean := write("clean.toml", "http://127.0.0.1:1")
	const userinfo = `streamsea["default"].url: "http://[redacted]@127.0.0.1:1" holds credentials`
	const query = `streamsea["default"].url: "http://127.0.0.1:1/?[redacted]" has a query or fragment`
	cases := []struct {
		name string
		args []string
		env  string
		want string
	}{
		{"validate", []string{"validate", "--config", inFile}, "", userinfo},
		{"validate --print", []string{"validate", "--print", "--config", inFile}, "", userinfo},
		{"run", []string{"run", "--config", inFile}, "", userinfo},
		{"run, from the environment", []string{"run", "--config", clean}, "http://" + secret + "@127.0.0.1:1", userinfo},
		{"validate --print, from the environment", []string{"validate", "--print", "--config", clean}, "http://u:" + secret + "@127.0.0.1:1", userinfo},
		{"validate, query", []string{"validate", "--config", inQuery}, "", query},
		{"validate --print, query", []string{"validate", "--print", "--config", inQuery}, "", query},
		{"run, query", []string{"run", "--config", inQuery}, "", query},
		{"run, query from the environment", []string{"run", "--config", clean}, "http://127.0.0.1:1/?password=" + secret, query},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.env != "" {
				t.Setenv("BRIDGE_STREAMSEA__DEFAULT__URL", c.env)
			}
			var stdout, stderr bytes.Buffer
			code := run(c.args, nil, &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if code != 2 {
				t.Errorf("exit code %d, want 2:\n%s", code, out)
			}
			if strings.Contains(out, secret) {
				t.Errorf("the output shows the secret:\n%s", out)
			}
			if !strings.Contains(out, c.want) {
				t.Errorf("the output does not name the key:\n%s", out)
			}
		})
	}
}

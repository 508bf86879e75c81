package emulatortest

import (
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/seabridge/seabridge/internal/streamsea/emulator"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStartServesRESTWithTheGivenCredentials(t *testing.T) {
	tests := []struct {
		name        string
		opts        emulator.Options
		id, secret  string
		wrongSecret string
	}{
		{"default client", emulator.Options{}, ClientID, ClientSecret, "nope"},
		{"own client", emulator.Options{Clients: []emulator.Client{{ID: "a", Secret: "b"}}}, "a", "b", ClientSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := Start(t, tt.opts)
			if env.ClientID != tt.id || env.ClientSecret != tt.secret {
				t.Errorf("credentials %q/%q, want %q/%q", env.ClientID, env.ClientSecret, tt.id, tt.secret)
			}
			if !strings.HasPrefix(env.URL, "http://127.0.0.1:") || !strings.HasPrefix(env.WSURL, "ws://127.0.0.1:") {
				t.Errorf("URL %q WSURL %q, want loopback addresses", env.URL, env.WSURL)
			}
			if got := versionsVectorStatus(t, env, env.ClientSecret); got != http.StatusOK {
				t.Errorf("versions vector with the right secret: status %d, want 200", got)
			}
			if got := versionsVectorStatus(t, env, tt.wrongSecret); got != http.StatusUnauthorized {
				t.Errorf("versions vector with a wrong secret: status %d, want 401", got)
			}
		})
	}
}

func versionsVectorStatus(t *testing.T, env *Env, secret string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, env.URL+"/api/v1/schema-versions-vector",
		strings.NewReader(`{"schemaNames":["s"]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(env.ClientID, secret)
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("versions vector: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

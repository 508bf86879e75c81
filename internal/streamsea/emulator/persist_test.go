package emulator

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestDataDirKeepsJailsClientsAndSchemas changes every kind of kept state, restarts the
// emulator on the same directory and expects all of it back, and nothing that is not kept.
func TestDataDirKeepsJailsClientsAndSchemas(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, Options{DataDir: dir})
	hc := httpClient(t)
	key := withJWTKey(t, s)
	created := do(t, hc, s, as(call{method: "POST", path: "/api/v1/client", body: map[string]any{"clientId": "dave"}}))
	if created.status != 200 {
		t.Fatalf("create client: %d %s", created.status, created.raw)
	}
	daveSecret, _ := created.json["secret"].(string)
	rotated := do(t, hc, s, call{method: "PUT", path: "/api/v1/client/bob", user: "bob", pass: "bob-secret"})
	bobSecret, _ := rotated.json["secret"].(string)
	jail := do(t, hc, s, as(call{method: "POST", path: "/api/v1/jails", body: map[string]any{
		"newJailId": "harbour", "newJailName": "Harbour", "newClientId": "erin"}}))
	erinSecret, _ := jail.json["newClientSecret"].(string)
	if rotated.status != 200 || jail.status != 200 {
		t.Fatalf("rotate %d %s, create jail %d %s", rotated.status, rotated.raw, jail.status, jail.raw)
	}
	if a := do(t, hc, s, as(call{method: "DELETE", path: "/api/v1/jails/other"})); a.status != 200 {
		t.Fatalf("delete jail: %d %s", a.status, a.raw)
	}
	schema := map[string]any{"version": 2, "fields": []map[string]any{{"name": "t", "type": "float"}}}
	if a := do(t, hc, s, as(call{method: "POST", path: "/api/v1/streams/boiler/define", body: schema})); a.status != 200 {
		t.Fatalf("define: %d %s", a.status, a.raw)
	}
	if a := do(t, hc, s, call{method: "POST", path: "/api/v1/streams/tide/define", user: "erin", pass: erinSecret,
		body: map[string]any{"version": 1, "fields": []map[string]any{{"name": "h", "type": "integer"}}}}); a.status != 200 {
		t.Fatalf("define in the new jail: %d %s", a.status, a.raw)
	}
	publish(t, hc, s, "boiler", map[string]any{"t": 1.5})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	again := startServer(t, Options{DataDir: dir, Clients: []Client{{ID: "zed", Secret: "ignored"}}})
	hc = httpClient(t)
	for _, c := range []struct {
		user, pass string
		want       int
	}{
		{testClient, testSecret, 200}, {"dave", daveSecret, 200}, {"bob", bobSecret, 200}, {"bob", "bob-secret", 401},
		{"carol", "carol-secret", 401}, {"zed", "ignored", 401},
	} {
		if a := do(t, hc, again, call{method: "GET", path: "/api/v1/streams/boiler/schema", user: c.user, pass: c.pass}); a.status != c.want {
			t.Errorf("%s after the restart: %d %s, want %d", c.user, a.status, a.raw, c.want)
		}
	}
	if a := do(t, hc, again, as(call{method: "GET", path: "/api/v1/streams/boiler/schema"})); a.json["version"] != 2.0 {
		t.Errorf("the schema did not survive: %s", a.raw)
	}
	if a := do(t, hc, again, call{method: "GET", path: "/api/v1/streams/tide/schema", user: "erin", pass: erinSecret}); a.status != 200 {
		t.Errorf("the new jail's schema did not survive: %d %s", a.status, a.raw)
	}
	if st := streamStats(again, DefaultJail, "boiler"); st.Published != 0 {
		t.Errorf("counters survived the restart: %+v", st)
	}
	c := dial(t, again)
	if f := c.authJWT(signJWT(t, key, jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix()})); f.Success == nil || !*f.Success {
		t.Errorf("the JWT key did not survive: %+v", f)
	}
}

func TestDataDirStateFileIsPrivateAndWholeAfterEachChange(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, Options{DataDir: dir})
	hc := httpClient(t)
	for i := range 20 {
		body := map[string]any{"version": i + 1, "fields": []map[string]any{{"name": "t", "type": "float"}}}
		if a := do(t, hc, s, as(call{method: "POST", path: "/api/v1/streams/s/define", body: body})); a.status != 200 {
			t.Fatalf("define: %d %s", a.status, a.raw)
		}
	}
	info, err := os.Stat(filepath.Join(dir, StateFileName))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("state file mode %v, want 0600: it holds secrets", perm)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("data directory holds %d entries, want only the state file (no temporary files)", len(entries))
	}
	var st stateFile
	data, _ := os.ReadFile(filepath.Join(dir, StateFileName))
	if err := json.Unmarshal(data, &st); err != nil || st.Format != stateFormat {
		t.Fatalf("state file: %v %.200s", err, data)
	}
	if schemas := st.Jails[0].Schemas; len(schemas) != 1 || schemas[0].Version != 20 {
		t.Errorf("saved schemas %+v, want version 20", schemas)
	}
}

func TestDataDirRefusesUnusableStateFiles(t *testing.T) {
	good := func(t *testing.T) []byte {
		dir := t.TempDir()
		s := startServer(t, Options{DataDir: dir})
		_ = s.Close()
		data, err := os.ReadFile(filepath.Join(dir, StateFileName))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}(t)
	for _, tc := range []struct {
		name, content, want string
	}{
		{"truncated", string(good[:len(good)/2]), "is damaged"},
		{"a clients file", `{"clients":[{"id":"a","secret":"b"}]}`, "not an emulator state file"},
		{"not JSON", "hello", "not an emulator state file"},
		{"newer version", `{"format":"seabridge-emulator-state","version":2}`, "has version 2"},
		{"unknown key", strings.Replace(string(good), `"jails"`, `"colour":"red","jails"`, 1), `unknown field "colour"`},
		{"client in a missing jail", `{"format":"seabridge-emulator-state","version":1,"jails":[{"id":"default","name":"default"}],
			"clients":[{"id":"a","secret":"b","jailId":"gone"}]}`, `jail "gone" does not exist`},
		{"no default jail", `{"format":"seabridge-emulator-state","version":1,"jails":[],"clients":[]}`, `"default" jail is missing`},
		{"bad schema", `{"format":"seabridge-emulator-state","version":1,"jails":[{"id":"default","name":"default",
			"schemas":[{"name":"s","version":1,"fields":[{"name":"x","type":"colour"}]}]}],"clients":[]}`, "not a valid schema"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, StateFileName)
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := New(Options{DataDir: dir, Clients: []Client{{ID: "a", Secret: "b"}}})
			if !errors.Is(err, ErrStateFile) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("New = %v, want ErrStateFile naming %s and saying %q", err, path, tc.want)
			}
			if data, _ := os.ReadFile(path); string(data) != tc.content {
				t.Fatal("the unusable file was overwritten")
			}
		})
	}
}

func TestDataDirSaveFailureIsReported(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, Options{DataDir: dir})
	hc := httpClient(t)
	// A directory where the state file's temporary file should go makes every save fail,
	// even for root.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := do(t, hc, s, as(call{method: "POST", path: "/api/v1/client", body: map[string]any{"clientId": "dave"}}))
	if a.status != http.StatusInternalServerError || !strings.Contains(a.message(), "not saved") {
		t.Fatalf("create client with an unwritable data directory: %d %s, want 500 saying it was not saved", a.status, a.raw)
	}
}

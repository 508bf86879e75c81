package emulator

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

var portCall = map[string]any{
	"name": "portCall", "version": 2,
	"fields": []any{
		map[string]any{"name": "portCallKey", "type": "string"},
		map[string]any{"name": "arrival", "type": "date"},
		map[string]any{"name": "berthingSide", "type": "enum", "enum": []string{"starboard", "port"}},
		map[string]any{"name": "moves", "type": "array<object>", "fields": []any{map[string]any{"name": "load", "type": "string"}}},
	},
}

func validPortCall(key string) map[string]any {
	return map[string]any{"portCallKey": key, "arrival": "2024-05-01T10:00:00Z", "berthingSide": "port",
		"moves": []any{map[string]any{"load": "x"}}}
}

func TestRESTAuthentication(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	paths := []call{
		{method: "POST", path: "/api/v1/streams/s/publish", body: map[string]any{"payload": map[string]any{}}},
		{method: "POST", path: "/api/v1/streams/s/define", body: portCall},
		{method: "GET", path: "/api/v1/streams/s/schema"},
		{method: "POST", path: "/api/v1/schema-versions-vector", body: map[string]any{"schemaNames": []string{"s"}}},
		{method: "POST", path: "/api/v1/client", body: map[string]any{"clientId": "x"}},
		{method: "DELETE", path: "/api/v1/client/bob"},
		{method: "PUT", path: "/api/v1/client/alice"},
		{method: "PUT", path: "/api/v1/client/alice/jwt-public-key", body: map[string]any{"jwtPublicKey": nil}},
		{method: "POST", path: "/api/v1/jails", body: map[string]any{"newJailId": "j", "newClientId": "c"}},
		{method: "DELETE", path: "/api/v1/jails/other"},
	}
	creds := []struct {
		name, user, pass, want string
	}{
		{"missing", "", "", msgMissingCredentials},
		{"bad secret", testClient, "wrong", msgBadCredentials},
		{"unknown client", "nobody", "x", msgBadCredentials},
	}
	for _, p := range paths {
		for _, cr := range creds {
			c := p
			c.user, c.pass = cr.user, cr.pass
			a := do(t, hc, s, c)
			if a.status != http.StatusUnauthorized || a.message() != cr.want {
				t.Errorf("%s %s (%s): got %d %s", c.method, c.path, cr.name, a.status, a.raw)
			}
		}
	}
	if st := streamStats(s, DefaultJail, "s"); st.Published != 0 || st.HasSchema {
		t.Errorf("an unauthorized call changed state: %+v", st)
	}
}

func TestPublish(t *testing.T) {
	s := startServer(t, Options{MaxBodyBytes: 4096})
	hc := httpClient(t)
	big := bytes.Repeat([]byte(" "), 5000)
	bigBody := append(append([]byte(`{"payload":{}`), big...), '}')
	tests := []struct {
		name       string
		body       any
		gzip       bool
		wantStatus int
		wantCount  uint64
	}{
		{"object", map[string]any{"payload": map[string]any{"a": 1}}, false, 200, 1},
		{"gzip object", map[string]any{"payload": map[string]any{"a": 1}}, true, 200, 1},
		{"batch", map[string]any{"payload": []any{map[string]any{"a": 1}, map[string]any{"a": 2}}}, false, 200, 2},
		{"gzip batch", map[string]any{"payload": []any{map[string]any{"a": 1}, map[string]any{"a": 2}, map[string]any{}}}, true, 200, 3},
		{"empty batch", map[string]any{"payload": []any{}}, false, 200, 0},
		{"scalar payload", map[string]any{"payload": 3}, false, 400, 0},
		{"batch of scalars", map[string]any{"payload": []any{map[string]any{}, 3}}, false, 400, 0},
		{"no payload", map[string]any{"other": 1}, false, 400, 0},
		{"not json", []byte("{"), false, 400, 0},
		{"bad gzip", []byte("not gzip"), false, 400, 0},
		{"too big", bigBody, false, 413, 0},
		{"too big once gunzipped", bigBody, true, 413, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stream := strings.ReplaceAll(tc.name, " ", "-")
			c := as(call{method: "POST", path: "/api/v1/streams/" + stream + "/publish", body: tc.body, gzip: tc.gzip})
			if tc.name == "bad gzip" {
				c = as(call{method: "POST", path: "/api/v1/streams/" + stream + "/publish", body: tc.body})
			}
			a := doWithEncoding(t, hc, s, c, tc.name == "bad gzip")
			if a.status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", a.status, tc.wantStatus, a.raw)
			}
			if a.status != 200 && a.message() == "" {
				t.Errorf("error answer without a message: %s", a.raw)
			}
			if got := streamStats(s, DefaultJail, stream).Published; got != tc.wantCount {
				t.Errorf("published %d, want %d", got, tc.wantCount)
			}
		})
	}
}

// doWithEncoding sends c, claiming gzip without compressing when lie is set.
func doWithEncoding(t *testing.T, hc *http.Client, s *Server, c call, lie bool) answer {
	t.Helper()
	if !lie {
		return do(t, hc, s, c)
	}
	req, _ := http.NewRequest(c.method, s.URL()+c.path, bytes.NewReader(c.body.([]byte)))
	req.SetBasicAuth(c.user, c.pass)
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	raw, _ := json.Marshal(m)
	return answer{status: resp.StatusCode, raw: raw, json: m}
}

func TestPublishValidatesAgainstSchema(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	if a := do(t, hc, s, as(call{method: "POST", path: "/api/v1/streams/portCall/define", body: portCall})); a.status != 200 {
		t.Fatalf("define: %d %s", a.status, a.raw)
	}
	bad := validPortCall("k3")
	bad["moves"] = []any{map[string]any{"load": 7}}
	batch := []any{validPortCall("k0"), validPortCall("k1"), validPortCall("k2"), bad}
	a := do(t, hc, s, as(call{method: "POST", path: "/api/v1/streams/portCall/publish", body: map[string]any{"payload": batch}}))
	if a.status != http.StatusBadRequest {
		t.Fatalf("status %d: %s", a.status, a.raw)
	}
	errs := a.errors()
	if len(errs) != 1 || !strings.HasPrefix(errs[0], "payload[3].moves[0].load: ") {
		t.Errorf("errors %q, want one starting with payload[3].moves[0].load", errs)
	}
	single := validPortCall("k")
	delete(single, "arrival")
	single["extra"] = true
	a = do(t, hc, s, as(call{method: "POST", path: "/api/v1/streams/portCall/publish", body: map[string]any{"payload": single}}))
	if a.status != http.StatusBadRequest || len(a.errors()) != 2 {
		t.Fatalf("single: %d %s, want 400 with 2 errors", a.status, a.raw)
	}
	for _, e := range a.errors() {
		if !strings.HasPrefix(e, "payload") {
			t.Errorf("error %q does not start with payload", e)
		}
	}
	if got := streamStats(s, DefaultJail, "portCall").Published; got != 0 {
		t.Fatalf("rejected publications counted: %d", got)
	}
	publish(t, hc, s, "portCall", batch[:3])
	if got := streamStats(s, DefaultJail, "portCall").Published; got != 3 {
		t.Fatalf("published %d, want 3", got)
	}
}

func schemaWith(version any, fields ...map[string]any) map[string]any {
	fs := make([]any, len(fields))
	for i, f := range fields {
		fs[i] = f
	}
	return map[string]any{"name": "st", "version": version, "fields": fs}
}

func TestDefineVersionRules(t *testing.T) {
	a := map[string]any{"name": "a", "type": "string"}
	b := map[string]any{"name": "b", "type": "integer"}
	c := map[string]any{"name": "c", "type": "float"}
	tests := []struct {
		name        string
		define      map[string]any
		wantStatus  int
		wantMessage string // substring
		wantStored  map[string]any
	}{
		{"same version same fields", schemaWith(2, a, b), 200, "", schemaWith(2, a, b)},
		{"same version reordered fields", schemaWith(2, b, a), 200, "", schemaWith(2, a, b)},
		{"same version different fields", schemaWith(2, a, c), 400, "different definition", schemaWith(2, a, b)},
		{"lower version", schemaWith(1, a), 400, "there is already an older version defined", schemaWith(2, a, b)},
		{"higher version replaces", schemaWith(3, c), 200, "", schemaWith(3, c)},
		{"numeric string version", schemaWith("4", a), 200, "", schemaWith(4, a)},
		{"name differs from stream", map[string]any{"name": "other", "version": 5, "fields": []any{a}}, 400, "must equal the stream name", schemaWith(2, a, b)},
		{"name omitted", map[string]any{"version": 5, "fields": []any{a}}, 200, "", schemaWith(5, a)},
		{"invalid definition", schemaWith(6, map[string]any{"name": "x", "type": "strng"}), 400, "invalid schema definition", schemaWith(2, a, b)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, Options{})
			hc := httpClient(t)
			define := func(body any) answer {
				return do(t, hc, s, as(call{method: "POST", path: "/api/v1/streams/st/define", body: body}))
			}
			if got := define(schemaWith(2, a, b)); got.status != 200 {
				t.Fatalf("first define: %d %s", got.status, got.raw)
			}
			got := define(tc.define)
			if got.status != tc.wantStatus || !strings.Contains(got.message(), tc.wantMessage) {
				t.Fatalf("define: %d %s, want %d containing %q", got.status, got.raw, tc.wantStatus, tc.wantMessage)
			}
			if tc.name == "invalid definition" && len(got.errors()) == 0 {
				t.Errorf("invalid definition answered without errors: %s", got.raw)
			}
			desc := do(t, hc, s, as(call{method: "GET", path: "/api/v1/streams/st/schema"}))
			if desc.status != 200 || !sameJSONFields(t, desc.raw, tc.wantStored) {
				t.Errorf("stored %s, want %v", desc.raw, tc.wantStored)
			}
		})
	}
}

// sameJSONFields compares a described schema with want, ignoring field order.
func sameJSONFields(t *testing.T, raw []byte, want map[string]any) bool {
	t.Helper()
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	w, _ := json.Marshal(want)
	var wantM map[string]any
	_ = json.Unmarshal(w, &wantM)
	if got["name"] != wantM["name"] || got["version"] != wantM["version"] {
		return false
	}
	return sameFieldSet(got["fields"], wantM["fields"])
}

func sameFieldSet(a, b any) bool {
	as, _ := a.([]any)
	bs, _ := b.([]any)
	if len(as) != len(bs) {
		return false
	}
	for _, x := range as {
		found := false
		for _, y := range bs {
			if reflect.DeepEqual(x, y) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func TestDescribe(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	a := do(t, hc, s, as(call{method: "GET", path: "/api/v1/streams/portCall/schema"}))
	if a.status != http.StatusNotFound || a.message() == "" {
		t.Fatalf("unknown stream: %d %s", a.status, a.raw)
	}
	publish(t, hc, s, "noSchema", map[string]any{"a": 1})
	if a := do(t, hc, s, as(call{method: "GET", path: "/api/v1/streams/noSchema/schema"})); a.status != http.StatusNotFound {
		t.Fatalf("stream without schema: %d %s", a.status, a.raw)
	}
	if a := do(t, hc, s, as(call{method: "POST", path: "/api/v1/streams/portCall/define", body: portCall})); a.status != 200 {
		t.Fatalf("define: %d %s", a.status, a.raw)
	}
	a = do(t, hc, s, as(call{method: "GET", path: "/api/v1/streams/portCall/schema"}))
	if a.status != 200 {
		t.Fatalf("describe: %d %s", a.status, a.raw)
	}
	keys := make([]string, 0, len(a.json))
	for k := range a.json {
		keys = append(keys, k)
	}
	if len(keys) != 3 || a.json["name"] == nil || a.json["version"] == nil || a.json["fields"] == nil {
		t.Errorf("describe keys %v, want exactly name, version, fields", keys)
	}
	if !sameJSONFields(t, a.raw, portCall) {
		t.Errorf("describe %s, want %v", a.raw, portCall)
	}
}

func TestSchemaVersionsVector(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	for _, v := range []int{1, 3} {
		def := schemaWith(v, map[string]any{"name": "a", "type": "string"})
		if a := do(t, hc, s, as(call{method: "POST", path: "/api/v1/streams/st/define", body: def})); a.status != 200 {
			t.Fatalf("define: %d %s", a.status, a.raw)
		}
	}
	publish(t, hc, s, "plain", map[string]any{})
	a := do(t, hc, s, as(call{method: "POST", path: "/api/v1/schema-versions-vector",
		body: map[string]any{"schemaNames": []string{"plain", "st", "missing", "st"}}}))
	if a.status != 200 || string(a.raw) != `{"versionsVector":[null,3,null,3]}` {
		t.Fatalf("got %d %s", a.status, a.raw)
	}
	a = do(t, hc, s, as(call{method: "POST", path: "/api/v1/schema-versions-vector", body: map[string]any{}}))
	if a.status != http.StatusBadRequest {
		t.Fatalf("no schemaNames: %d %s", a.status, a.raw)
	}
}

func TestClientManagement(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	a := do(t, hc, s, as(call{method: "POST", path: "/api/v1/client", body: map[string]any{"clientId": "dave", "description": "d"}}))
	secret, _ := a.json["secret"].(string)
	if a.status != 200 || a.json["givenId"] != "dave" || secret == "" {
		t.Fatalf("create: %d %s", a.status, a.raw)
	}
	if a := do(t, hc, s, call{method: "GET", path: "/api/v1/streams/x/schema", user: "dave", pass: secret}); a.status != http.StatusNotFound {
		t.Fatalf("new client cannot call: %d %s", a.status, a.raw)
	}
	if a := do(t, hc, s, as(call{method: "POST", path: "/api/v1/client", body: map[string]any{"clientId": "dave"}})); a.status != http.StatusConflict {
		t.Errorf("duplicate create: %d %s", a.status, a.raw)
	}
	if a := do(t, hc, s, as(call{method: "POST", path: "/api/v1/client", body: map[string]any{}})); a.status != http.StatusBadRequest {
		t.Errorf("create without id: %d %s", a.status, a.raw)
	}
	// rotate: only one's own secret; the old one stops working.
	if a := do(t, hc, s, as(call{method: "PUT", path: "/api/v1/client/dave"})); a.status != http.StatusForbidden {
		t.Errorf("rotate someone else's secret: %d %s", a.status, a.raw)
	}
	a = do(t, hc, s, call{method: "PUT", path: "/api/v1/client/dave", user: "dave", pass: secret})
	newSecret, _ := a.json["secret"].(string)
	if a.status != 200 || a.json["givenId"] != "dave" || newSecret == "" || newSecret == secret {
		t.Fatalf("rotate: %d %s", a.status, a.raw)
	}
	if a := do(t, hc, s, call{method: "PUT", path: "/api/v1/client/dave", user: "dave", pass: secret}); a.status != http.StatusUnauthorized {
		t.Errorf("old secret still accepted: %d", a.status)
	}
	// delete: only within the caller's jail.
	if a := do(t, hc, s, call{method: "DELETE", path: "/api/v1/client/dave", user: "carol", pass: "carol-secret"}); a.status != http.StatusNotFound {
		t.Errorf("delete from another jail: %d %s", a.status, a.raw)
	}
	a = do(t, hc, s, as(call{method: "DELETE", path: "/api/v1/client/dave"}))
	if a.status != 200 || a.json["id"] != "dave" {
		t.Fatalf("delete: %d %s", a.status, a.raw)
	}
	if a := do(t, hc, s, call{method: "GET", path: "/api/v1/streams/x/schema", user: "dave", pass: newSecret}); a.status != http.StatusUnauthorized {
		t.Errorf("deleted client still accepted: %d", a.status)
	}
	if a := do(t, hc, s, as(call{method: "DELETE", path: "/api/v1/client/dave"})); a.status != http.StatusNotFound {
		t.Errorf("second delete: %d", a.status)
	}
}

func rsaKeyPEM(t testing.TB) (*rsa.PrivateKey, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return key, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func TestSetJWTPublicKey(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	_, pemKey := rsaKeyPEM(t)
	tests := []struct {
		name       string
		path       string
		body       any
		wantStatus int
		wantKey    any
	}{
		{"set", "/api/v1/client/alice/jwt-public-key", map[string]any{"jwtPublicKey": pemKey}, 200, pemKey},
		{"clear", "/api/v1/client/alice/jwt-public-key", map[string]any{"jwtPublicKey": nil}, 200, nil},
		{"not a key", "/api/v1/client/alice/jwt-public-key", map[string]any{"jwtPublicKey": "-----BEGIN nonsense"}, 400, nil},
		{"not a string", "/api/v1/client/alice/jwt-public-key", map[string]any{"jwtPublicKey": 3}, 400, nil},
		{"key missing", "/api/v1/client/alice/jwt-public-key", map[string]any{}, 400, nil},
		{"someone else", "/api/v1/client/bob/jwt-public-key", map[string]any{"jwtPublicKey": nil}, 403, nil},
	}
	for _, tc := range tests {
		a := do(t, hc, s, as(call{method: "PUT", path: tc.path, body: tc.body}))
		if a.status != tc.wantStatus {
			t.Errorf("%s: %d %s, want %d", tc.name, a.status, a.raw, tc.wantStatus)
			continue
		}
		if a.status == 200 && (a.json["givenId"] != testClient || a.json["jwtPublicKey"] != tc.wantKey) {
			t.Errorf("%s: answer %s", tc.name, a.raw)
		}
	}
}

func TestJailsIsolateStreams(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	a := do(t, hc, s, as(call{method: "POST", path: "/api/v1/jails",
		body: map[string]any{"newJailId": "j2", "newJailName": "Jail two", "newClientId": "erin"}}))
	secret, _ := a.json["newClientSecret"].(string)
	if a.status != 200 || a.json["newJailId"] != "j2" || a.json["newClientId"] != "erin" || secret == "" {
		t.Fatalf("create jail: %d %s", a.status, a.raw)
	}
	erin := func(c call) call { c.user, c.pass = "erin", secret; return c }
	if a := do(t, hc, s, as(call{method: "POST", path: "/api/v1/jails", body: map[string]any{"newJailId": "j2", "newClientId": "x"}})); a.status != http.StatusConflict {
		t.Errorf("duplicate jail: %d", a.status)
	}
	if a := do(t, hc, s, as(call{method: "POST", path: "/api/v1/streams/portCall/define", body: portCall})); a.status != 200 {
		t.Fatalf("define: %d %s", a.status, a.raw)
	}
	if a := do(t, hc, s, erin(call{method: "GET", path: "/api/v1/streams/portCall/schema"})); a.status != http.StatusNotFound {
		t.Errorf("a schema of jail default is visible in j2: %d %s", a.status, a.raw)
	}
	a = do(t, hc, s, erin(call{method: "POST", path: "/api/v1/schema-versions-vector", body: map[string]any{"schemaNames": []string{"portCall"}}}))
	if string(a.raw) != `{"versionsVector":[null]}` {
		t.Errorf("versions vector across jails: %s", a.raw)
	}
	// The same stream name in j2 accepts what default's schema would reject.
	if a := do(t, hc, s, erin(call{method: "POST", path: "/api/v1/streams/portCall/publish", body: map[string]any{"payload": map[string]any{"x": 1}}})); a.status != 200 {
		t.Errorf("publish in j2: %d %s", a.status, a.raw)
	}
	a = do(t, hc, s, as(call{method: "DELETE", path: "/api/v1/jails/j2"}))
	if a.status != 200 || a.json["id"] != "j2" {
		t.Fatalf("delete jail: %d %s", a.status, a.raw)
	}
	if a := do(t, hc, s, erin(call{method: "GET", path: "/api/v1/streams/portCall/schema"})); a.status != http.StatusUnauthorized {
		t.Errorf("client of a deleted jail still accepted: %d", a.status)
	}
	for path, want := range map[string]int{"/api/v1/jails/j2": 404, "/api/v1/jails/default": 400} {
		if a := do(t, hc, s, as(call{method: "DELETE", path: path})); a.status != want {
			t.Errorf("DELETE %s: %d %s, want %d", path, a.status, a.raw, want)
		}
	}
}

func TestAdminEndpoints(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	publish(t, hc, s, "s1", map[string]any{})
	a := do(t, hc, s, call{method: "GET", path: "/emulator/healthz"})
	if a.status != 200 || a.json["status"] != "ok" {
		t.Errorf("healthz: %d %s", a.status, a.raw)
	}
	a = do(t, hc, s, call{method: "GET", path: "/emulator/stats"})
	var stats Stats
	if err := json.Unmarshal(a.raw, &stats); err != nil || a.status != 200 {
		t.Fatalf("stats: %d %s", a.status, a.raw)
	}
	if len(stats.Streams) != 1 || stats.Streams[0].Stream != "s1" || stats.Streams[0].Published != 1 {
		t.Errorf("stats %+v", stats)
	}
	if a := do(t, hc, s, as(call{method: "GET", path: "/api/v1/nothing"})); a.status != 404 || a.message() == "" {
		t.Errorf("unknown route: %d %s", a.status, a.raw)
	}
}

package emulator

import (
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
)

func TestWebsocketAuthenticateBasic(t *testing.T) {
	s := startServer(t, Options{})
	tests := []struct {
		name    string
		payload map[string]any
		ok      bool
		jail    string
	}{
		{"alice", map[string]any{"type": "basic", "clientId": testClient, "clientSecret": testSecret}, true, DefaultJail},
		{"carol in jail other", map[string]any{"type": "basic", "clientId": "carol", "clientSecret": "carol-secret"}, true, "other"},
		{"bad secret", map[string]any{"type": "basic", "clientId": testClient, "clientSecret": "nope"}, false, ""},
		{"unknown client", map[string]any{"type": "basic", "clientId": "nobody", "clientSecret": "x"}, false, ""},
		{"unknown type", map[string]any{"type": "token", "clientId": testClient}, false, ""},
		{"jwt without key", map[string]any{"type": "jwt", "clientId": testClient, "jwt": "a.b.c"}, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, s)
			c.send("authenticate", map[string]any{"payload": tc.payload})
			f := c.read()
			if f.ID != 1 || f.Action != "authenticate" || f.Success == nil || *f.Success != tc.ok {
				t.Fatalf("answer %+v", f)
			}
			if !tc.ok {
				if f.Error == nil || f.Error.Message == "" {
					t.Fatalf("failure without error message: %+v", f)
				}
				c.expectClosed()
				return
			}
			var p struct {
				JailID string `json:"jailId"`
			}
			if err := json.Unmarshal(f.Payload, &p); err != nil || p.JailID != tc.jail {
				t.Fatalf("payload %s, want jailId %q", f.Payload, tc.jail)
			}
		})
	}
}

func TestWebsocketProtocolErrors(t *testing.T) {
	s := startServer(t, Options{})
	t.Run("first frame not authenticate", func(t *testing.T) {
		c := dial(t, s)
		c.send("subscribe", map[string]any{"payload": "s"})
		if f := c.read(); f.Success == nil || *f.Success || f.Error == nil {
			t.Fatalf("answer %+v", f)
		}
		c.expectClosed()
	})
	t.Run("first id not 1", func(t *testing.T) {
		c := dial(t, s)
		c.id = 1
		c.send("authenticate", map[string]any{"payload": map[string]any{"type": "basic", "clientId": testClient, "clientSecret": testSecret}})
		if f := c.read(); f.ID != 2 || f.Success == nil || *f.Success {
			t.Fatalf("answer %+v", f)
		}
		c.expectClosed()
	})
	t.Run("not json", func(t *testing.T) {
		c := dial(t, s)
		if err := c.conn.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
			t.Fatal(err)
		}
		if f := c.read(); f.Success == nil || *f.Success {
			t.Fatalf("answer %+v", f)
		}
		c.expectClosed()
	})
	t.Run("second authenticate rejected, connection kept", func(t *testing.T) {
		c := login(t, s)
		c.send("authenticate", map[string]any{"payload": map[string]any{"type": "basic", "clientId": testClient, "clientSecret": testSecret}})
		if f := c.read(); f.ID != 2 || f.Action != "authenticate" || f.Success == nil || *f.Success {
			t.Fatalf("answer %+v", f)
		}
		c.subscribe("s", "")
	})
	t.Run("skipped id", func(t *testing.T) {
		c := login(t, s)
		c.id++
		c.send("subscribe", map[string]any{"payload": "s"})
		if f := c.read(); f.ID != 3 || f.Success == nil || *f.Success || !strings.Contains(f.Error.Message, "expected a frame with id 2") {
			t.Fatalf("answer %+v", f)
		}
		c.expectClosed()
	})
	t.Run("bad groupId", func(t *testing.T) {
		c := login(t, s)
		for _, g := range []string{"not-a-uuid", "{6ba7b810-9dad-11d1-80b4-00c04fd430c8}", "6ba7b8109dad11d180b400c04fd430c8"} {
			id := c.send("subscribe", map[string]any{"payload": "s", "groupId": g})
			if f := c.read(); f.ID != id || f.Action != "subscription" || f.Success == nil || *f.Success {
				t.Fatalf("groupId %q: answer %+v", g, f)
			}
		}
		c.subscribe("s", "6BA7B810-9DAD-11D1-80B4-00C04FD430C8")
	})
	t.Run("subscribe without stream", func(t *testing.T) {
		c := login(t, s)
		c.send("subscribe", map[string]any{"payload": 3})
		if f := c.read(); f.Success == nil || *f.Success {
			t.Fatalf("answer %+v", f)
		}
	})
	t.Run("unknown action", func(t *testing.T) {
		c := login(t, s)
		c.send("unsubscribe", map[string]any{"payload": "s"})
		if f := c.read(); f.Action != "unsubscribe" || f.Success == nil || *f.Success {
			t.Fatalf("answer %+v", f)
		}
	})
}

func TestWebsocketDeliveries(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	c := login(t, s)
	idA := c.subscribe("a", "")
	idB := c.subscribe("b", "")
	publish(t, hc, s, "a", map[string]any{"n": 1})
	publish(t, hc, s, "b", []any{map[string]any{"n": 2}, map[string]any{"n": 3}})
	f := c.read()
	if f.ID != idA || f.StreamName != "a" || f.Action != "subscription" || f.Success != nil || compact(f.Payload) != `{"n":1}` {
		t.Fatalf("delivery %+v %s", f, f.Payload)
	}
	f = c.read()
	if f.ID != idB || f.StreamName != "b" || compact(f.Payload) != `[{"n":2},{"n":3}]` {
		t.Fatalf("batch delivery %+v %s, want one frame with the array", f, f.Payload)
	}
	waitFor(t, "delivered counts", func() bool {
		return streamStats(s, DefaultJail, "a").Delivered == 1 && streamStats(s, DefaultJail, "b").Delivered == 2
	})
}

func compact(raw json.RawMessage) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "invalid: " + string(raw)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestJailIsolationOverWebsocket(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	carol := dial(t, s)
	if f := carol.authBasic("carol", "carol-secret"); f.Success == nil || !*f.Success {
		t.Fatalf("auth: %+v", f)
	}
	carol.subscribe("s", "")
	alice := login(t, s)
	alice.subscribe("s", "")
	publish(t, hc, s, "s", map[string]any{"from": "default"})
	if f := alice.read(); compact(f.Payload) != `{"from":"default"}` {
		t.Fatalf("alice got %s", f.Payload)
	}
	if f, err := carol.tryRead(100 * time.Millisecond); err == nil {
		t.Fatalf("carol (jail other) received a message of jail default: %s", f.Payload)
	}
}

// signJWT signs claims with RS512.
func signJWT(t testing.TB, key *rsa.PrivateKey, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS512, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// withJWTKey registers a fresh public key for alice and returns the private key.
func withJWTKey(t testing.TB, s *Server) *rsa.PrivateKey {
	t.Helper()
	key, pemKey := rsaKeyPEM(t)
	a := do(t, httpClient(t), s, as(call{method: "PUT", path: "/api/v1/client/alice/jwt-public-key", body: map[string]any{"jwtPublicKey": pemKey}}))
	if a.status != http.StatusOK {
		t.Fatalf("set key: %d %s", a.status, a.raw)
	}
	return key
}

func (c *wsClient) authJWT(token string) wireFrame {
	c.send("authenticate", map[string]any{"payload": map[string]any{"type": "jwt", "clientId": testClient, "jwt": token}})
	return c.read()
}

func TestWebsocketAuthenticateJWT(t *testing.T) {
	s := startServer(t, Options{})
	key := withJWTKey(t, s)
	other, _ := rsaKeyPEM(t)
	future := time.Now().Add(time.Hour).Unix()
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"exp": future}).SignedString([]byte("k"))
	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"valid", signJWT(t, key, jwt.MapClaims{"exp": future}), true},
		{"valid with filter", signJWT(t, key, jwt.MapClaims{"exp": future, "filter": map[string]any{"t": "bool", "e": true}}), true},
		{"expired", signJWT(t, key, jwt.MapClaims{"exp": time.Now().Add(-time.Minute).Unix()}), false},
		{"no exp", signJWT(t, key, jwt.MapClaims{"mustFanout": true}), false},
		{"bad signature", signJWT(t, other, jwt.MapClaims{"exp": future}), false},
		{"wrong algorithm", hs, false},
		{"invalid filter", signJWT(t, key, jwt.MapClaims{"exp": future, "filter": map[string]any{"t": "regex"}}), false},
		{"garbage", "not.a.jwt", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, s)
			f := c.authJWT(tc.token)
			if f.Success == nil || *f.Success != tc.ok {
				t.Fatalf("answer %+v", f)
			}
			if !tc.ok {
				if f.Error == nil || f.Error.Message == "" {
					t.Fatalf("no error message: %+v", f)
				}
				c.expectClosed()
			}
		})
	}
}

func TestJWTExpiryClosesConnection(t *testing.T) {
	s := startServer(t, Options{})
	key := withJWTKey(t, s)
	c := dial(t, s)
	// exp has one-second resolution: the connection must end within about two seconds.
	token := signJWT(t, key, jwt.MapClaims{"exp": time.Now().Add(1500 * time.Millisecond).Unix()})
	if f := c.authJWT(token); f.Success == nil || !*f.Success {
		t.Fatalf("answer %+v", f)
	}
	start := time.Now()
	c.expectCloseFrame(websocket.ClosePolicyViolation, "the JWT has expired")
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("closed after %v", d)
	}
	c2 := dial(t, s)
	if f := c2.authJWT(token); f.Success == nil || *f.Success {
		t.Fatalf("expired token accepted again: %+v", f)
	}
}

func TestPingsAndPongTimeout(t *testing.T) {
	// Long enough that a pong delayed by a loaded machine still arrives within two intervals.
	s := startServer(t, Options{PingInterval: 250 * time.Millisecond})
	c := login(t, s)
	var pings atomic.Int32
	gotThree := make(chan struct{})
	c.conn.SetPingHandler(func(data string) error {
		if pings.Add(1) == 3 {
			close(gotThree)
		}
		return c.conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	readerDone := make(chan error, 1)
	go func() {
		_, _, err := c.conn.ReadMessage() // answers pings while it waits
		readerDone <- err
	}()
	select {
	case <-gotThree:
	case <-time.After(10 * time.Second):
		t.Fatalf("received %d pings in 10 s", pings.Load())
	}
	// Answering pongs kept the connection alive well past two intervals.
	if s.Stats().Connections != 1 {
		t.Fatalf("connection closed although pongs were sent")
	}
	_ = c.conn.Close()
	<-readerDone

	// A client that never reads never answers: closed after about two intervals.
	silent := login(t, s)
	waitFor(t, "the silent connection to be closed", func() bool { return s.Stats().Connections == 0 })
	_ = silent
}

func TestDropConnections(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	a, b := login(t, s), login(t, s)
	a.subscribe("s", "")
	b.subscribe("s", "")
	if n := s.DropConnections(); n != 2 {
		t.Fatalf("dropped %d, want 2", n)
	}
	a.expectClosed()
	b.expectClosed()
	waitFor(t, "subscriptions to go", func() bool { return subscriptions(s, "s") == 0 })
	// The server keeps serving: a new connection works.
	c := login(t, s)
	c.subscribe("s", "")
	publish(t, hc, s, "s", map[string]any{"after": true})
	if f := c.read(); compact(f.Payload) != `{"after":true}` {
		t.Fatalf("got %s", f.Payload)
	}
}

func TestDeletingClientClosesItsConnections(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	bob := dial(t, s)
	if f := bob.authBasic("bob", "bob-secret"); f.Success == nil || !*f.Success {
		t.Fatalf("auth %+v", f)
	}
	if a := do(t, hc, s, as(call{method: "DELETE", path: "/api/v1/client/bob"})); a.status != 200 {
		t.Fatalf("delete: %d %s", a.status, a.raw)
	}
	bob.expectCloseFrame(websocket.ClosePolicyViolation, "the client was deleted")
}

func TestDeletingJailClosesItsConnections(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	carol := dial(t, s)
	if f := carol.authBasic("carol", "carol-secret"); f.Success == nil || !*f.Success {
		t.Fatalf("auth %+v", f)
	}
	if a := do(t, hc, s, as(call{method: "DELETE", path: "/api/v1/jails/other"})); a.status != 200 {
		t.Fatalf("delete jail: %d %s", a.status, a.raw)
	}
	carol.expectCloseFrame(websocket.ClosePolicyViolation, "the jail was deleted")
}

func TestCloseIsIdempotentAndStopsEverything(t *testing.T) {
	s, err := New(Options{Clients: []Client{{ID: testClient, Secret: testSecret}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err == nil {
		t.Fatal("second Start succeeded")
	}
	c := login(t, s)
	c.subscribe("s", "")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	c.expectCloseFrame(websocket.CloseGoingAway, "the server is shutting down")
	if s.Stats().Connections != 0 {
		t.Fatal("connections left after Close")
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	one := []Client{{ID: "a", Secret: "b"}}
	tests := []struct {
		name string
		opts Options
	}{
		{"no clients", Options{}},
		{"empty secret", Options{Clients: []Client{{ID: "a"}}}},
		{"duplicate id", Options{Clients: []Client{{ID: "a", Secret: "b"}, {ID: "a", Secret: "c"}}}},
		{"bad policy", Options{Clients: one, SlowSubscriber: "wait"}},
	}
	for _, tc := range tests {
		if _, err := New(tc.opts); err == nil {
			t.Errorf("%s: New succeeded", tc.name)
		}
	}
}

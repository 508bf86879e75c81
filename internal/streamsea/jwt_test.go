package streamsea_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/seabridge/seabridge/internal/backoff"
	"github.com/seabridge/seabridge/internal/streamsea"
)

func generateRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkcs8PEM(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("PRIVATE KEY", der)
}

func publicKeyPEM(t *testing.T, key *rsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("PUBLIC KEY", der)
}

// fakeClock is a settable clock for JWTOptions.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// verifiedClaims checks token's signature and alg with key's public half, at time now, and
// returns its header and claims.
func verifiedClaims(t *testing.T, token string, key *rsa.PrivateKey, now time.Time) (map[string]any, jwt.MapClaims) {
	t.Helper()
	claims := jwt.MapClaims{}
	parsed, err := jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS512"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		t.Fatalf("token does not verify: %v", err)
	}
	return parsed.Header, claims
}

func mustToken(t *testing.T, s *streamsea.JWTSigner) string {
	t.Helper()
	tok, err := s.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestJWTSigner(t *testing.T) {
	key := generateRSAKey(t)
	keyPEM := pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	t.Run("claims", func(t *testing.T) { testJWTClaims(t, key, keyPEM) })
	t.Run("cache", func(t *testing.T) { testJWTCache(t, keyPEM) })
	t.Run("keys", func(t *testing.T) { testJWTKeys(t, key) })
}

func testJWTClaims(t *testing.T, key *rsa.PrivateKey, keyPEM []byte) {
	now := time.Unix(1_700_000_000, 250_000_000)
	filter := json.RawMessage(`{"t":"eq","e":[{"t":"path","e":"$.ship"},{"t":"string","e":"Aurora"}]}`)
	cases := []struct {
		name       string
		opts       streamsea.JWTOptions
		wantExp    int64
		mustFanout any // nil: claim absent
		filter     any // nil: claim absent
	}{
		{"default ttl", streamsea.JWTOptions{}, now.Unix() + 3601, nil, nil},
		{"ttl rounded up to a whole second", streamsea.JWTOptions{TTL: 2 * time.Second}, now.Unix() + 3, nil, nil},
		{"must fanout", streamsea.JWTOptions{TTL: time.Minute, MustFanout: true}, now.Unix() + 61, true, nil},
		{"filter", streamsea.JWTOptions{TTL: time.Minute, Filter: filter}, now.Unix() + 61, nil,
			map[string]any{"t": "eq", "e": []any{
				map[string]any{"t": "path", "e": "$.ship"}, map[string]any{"t": "string", "e": "Aurora"}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Now = func() time.Time { return now }
			s, err := streamsea.NewJWTSigner(keyPEM, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			header, claims := verifiedClaims(t, mustToken(t, s), key, now)
			if header["alg"] != "RS512" || header["typ"] != "JWT" {
				t.Errorf("header %v, want alg RS512 and typ JWT", header)
			}
			if exp, _ := claims["exp"].(float64); int64(exp) != tc.wantExp {
				t.Errorf("exp %v, want %d", claims["exp"], tc.wantExp)
			}
			if iat, _ := claims["iat"].(float64); int64(iat) != now.Unix() {
				t.Errorf("iat %v, want %d", claims["iat"], now.Unix())
			}
			checkClaim(t, claims, "mustFanout", tc.mustFanout)
			checkClaim(t, claims, "filter", tc.filter)
		})
	}
}

func checkClaim(t *testing.T, claims jwt.MapClaims, name string, want any) {
	t.Helper()
	got, present := claims[name]
	switch {
	case want == nil && present:
		t.Errorf("claim %s = %v, want it absent", name, got)
	case want != nil && !equalJSON(got, want):
		t.Errorf("claim %s = %v, want %v", name, got, want)
	}
}

func equalJSON(a, b any) bool {
	x, errA := json.Marshal(a)
	y, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(x) == string(y)
}

// testJWTCache walks a fake clock across the re-mint boundary: a token is reused while at
// least TTL/4 remains before its exp.
func testJWTCache(t *testing.T, keyPEM []byte) {
	start := time.Unix(1_700_000_000, 0)
	clock := &fakeClock{now: start}
	s, err := streamsea.NewJWTSigner(keyPEM, streamsea.JWTOptions{TTL: time.Hour, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	// second is minted at start+45m+1ns, so its exp is start+1h45m+1s.
	secondBoundary := start.Add(105*time.Minute + time.Second - 15*time.Minute)
	steps := []struct {
		name  string
		at    time.Time
		token string // "first", "second", "third": which mint the call must return
	}{
		{"first call mints", start, "first"},
		{"reused while most of the ttl remains", start.Add(30 * time.Minute), "first"},
		{"reused with exactly ttl/4 left", start.Add(45 * time.Minute), "first"},
		{"re-minted with less than ttl/4 left", start.Add(45*time.Minute + 1), "second"},
		{"new token reused", start.Add(time.Hour), "second"},
		{"new token reused at its own boundary", secondBoundary, "second"},
		{"re-minted after expiry", start.Add(3 * time.Hour), "third"},
	}
	minted := map[string]string{}
	for _, step := range steps {
		clock.Set(step.at)
		tok := mustToken(t, s)
		want, seen := minted[step.token]
		switch {
		case !seen:
			for name, other := range minted {
				if other == tok {
					t.Fatalf("%s: got the %s token again, want a new one", step.name, name)
				}
			}
			minted[step.token] = tok
		case tok != want:
			t.Fatalf("%s: got a new token, want the %s one", step.name, step.token)
		}
	}
}

func testJWTKeys(t *testing.T, rsaKey *rsa.PrivateKey) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		pem     []byte
		opts    streamsea.JWTOptions
		wantErr string // "" = accepted
	}{
		{"PKCS#1 RSA", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), streamsea.JWTOptions{}, ""},
		{"PKCS#8 RSA", pkcs8PEM(t, rsaKey), streamsea.JWTOptions{}, ""},
		{"RSA after other blocks", append(publicKeyPEM(t, rsaKey), pkcs8PEM(t, rsaKey)...), streamsea.JWTOptions{}, ""},
		{"PKCS#8 EC", pkcs8PEM(t, ecKey), streamsea.JWTOptions{}, "the PKCS#8 key is ECDSA, not RSA: RS512 needs an RSA key"},
		{"SEC1 EC", pemBlock("EC PRIVATE KEY", ecDER), streamsea.JWTOptions{}, `PEM block "EC PRIVATE KEY": RS512 needs an RSA key`},
		{"PKCS#8 Ed25519", pkcs8PEM(t, edKey), streamsea.JWTOptions{}, "the PKCS#8 key is ED25519, not RSA"},
		{"not PEM", []byte("not a key"), streamsea.JWTOptions{}, "no PEM block found"},
		{"empty", nil, streamsea.JWTOptions{}, "no PEM block found"},
		{"public key only", publicKeyPEM(t, rsaKey), streamsea.JWTOptions{}, `no private key among the PEM blocks ["PUBLIC KEY"]`},
		{"corrupt PKCS#1", pemBlock("RSA PRIVATE KEY", []byte("garbage")), streamsea.JWTOptions{}, "PKCS#1: "},
		{"corrupt PKCS#8", pemBlock("PRIVATE KEY", []byte("garbage")), streamsea.JWTOptions{}, "PKCS#8: "},
		{"encrypted PKCS#8", pemBlock("ENCRYPTED PRIVATE KEY", []byte("x")), streamsea.JWTOptions{}, "the key is encrypted"},
		{"ttl under a second", pkcs8PEM(t, rsaKey), streamsea.JWTOptions{TTL: 500 * time.Millisecond}, "must be at least 1s"},
		{"negative ttl", pkcs8PEM(t, rsaKey), streamsea.JWTOptions{TTL: -time.Hour}, "must be at least 1s"},
		{"filter not JSON", pkcs8PEM(t, rsaKey), streamsea.JWTOptions{Filter: json.RawMessage(`{"t":`)}, "filter: not valid JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := streamsea.NewJWTSigner(tc.pem, tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("NewJWTSigner error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			verifiedClaims(t, mustToken(t, s), rsaKey, time.Now())
		})
	}
}

func TestJWTSignerHonoursContext(t *testing.T) {
	key := generateRSAKey(t)
	s, err := streamsea.NewJWTSigner(pkcs8PEM(t, key), streamsea.JWTOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if tok, err := s.Token(ctx); err == nil || tok != "" {
		t.Fatalf("Token with a cancelled ctx = %q, %v; want an error", tok, err)
	}
}

// jwtRecorder hands out a signer's tokens and remembers the last one, which is the token of
// the connection being made when OnConnect runs.
type jwtRecorder struct {
	signer *streamsea.JWTSigner
	mu     sync.Mutex
	last   string
}

func (r *jwtRecorder) Token(ctx context.Context) (string, error) {
	tok, err := r.signer.Token(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = tok
	return tok, err
}

func (r *jwtRecorder) Last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// runJWTSubscriber runs a subscriber authenticating with rec's tokens; each connection sends
// its token on connects and each disconnect its time on disconnects.
func runJWTSubscriber(t *testing.T, url string, rec *jwtRecorder) (*streamsea.Subscriber, <-chan string, <-chan time.Time) {
	t.Helper()
	connects, disconnects := make(chan string, 8), make(chan time.Time, 8)
	sub, err := streamsea.NewSubscriber(streamsea.SubscriberOptions{
		URL: url, ClientID: "bridge", JWT: rec.Token,
		Subscriptions: []streamsea.Subscription{{Stream: "ships", GroupID: emuGroup}},
		Backoff:       backoff.Policy{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		Hooks: streamsea.Hooks{
			OnConnect:    func() { connects <- rec.Last() },
			OnDisconnect: func(error) { disconnects <- time.Now() },
		},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := sub.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return sub, connects, disconnects
}

func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s within 5s", what)
		panic("unreachable")
	}
}

func tokenExpiry(t *testing.T, token string) time.Time {
	t.Helper()
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, claims); err != nil {
		t.Fatal(err)
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		t.Fatalf("token without exp: %v", err)
	}
	return exp.Time
}

// TestSubscriberJWTReconnectsWithFreshToken runs a subscriber on 2-second tokens against the
// emulator, which closes a connection when its token's exp passes and refuses an expired
// token: delivery must continue on a second connection that authenticated with a new token.
func TestSubscriberJWTReconnectsWithFreshToken(t *testing.T) {
	emu, client := startEmulator(t)
	ctx := context.Background()
	key := generateRSAKey(t)
	if _, err := client.SetJWTPublicKey(ctx, string(publicKeyPEM(t, key))); err != nil {
		t.Fatal(err)
	}
	signer, err := streamsea.NewJWTSigner(pkcs8PEM(t, key), streamsea.JWTOptions{TTL: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	sub, connects, disconnects := runJWTSubscriber(t, emu.WSURL(), &jwtRecorder{signer: signer})

	first := receive(t, connects, "first connection")
	if err := client.Publish(ctx, "ships", []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	if got := nextValues(t, sub, 1); got[0] != `ships:{"n":1}` {
		t.Fatalf("before expiry: %q", got[0])
	}

	closedAt := receive(t, disconnects, "disconnect at the token's expiry")
	if exp := tokenExpiry(t, first); closedAt.Before(exp) {
		t.Fatalf("connection closed at %s, before its token's exp %s", closedAt, exp)
	}
	second := receive(t, connects, "reconnection")
	if second == first {
		t.Fatal("the reconnection reused the expired token")
	}
	verifiedClaims(t, second, key, time.Now())
	if err := client.Publish(ctx, "ships", []byte(`{"n":2}`)); err != nil {
		t.Fatal(err)
	}
	if got := nextValues(t, sub, 1); got[0] != `ships:{"n":2}` {
		t.Fatalf("after expiry: %q", got[0])
	}
}

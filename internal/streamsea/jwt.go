package streamsea

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultJWTTTL is the lifetime of a minted token when JWTOptions.TTL is zero.
const DefaultJWTTTL = time.Hour

// minJWTTTL is the shortest accepted lifetime.
const minJWTTTL = time.Second

// JWTOptions configures a JWTSigner.
type JWTOptions struct {
	TTL        time.Duration    // lifetime of each token (exp = now + TTL); default 1h, at least 1s
	MustFanout bool             // sets the mustFanout claim: every subscription is its own group
	Filter     json.RawMessage  // the filter claim (stream-sea's filter DSL), omitted when empty
	Now        func() time.Time // the clock; default time.Now
}

// JWTSigner mints RS512 tokens for stream-sea websocket authentication from the client's RSA
// private key. The server verifies them with the public key set by Client.SetJWTPublicKey and
// closes the connection when a token's exp passes. Token may be called from any goroutine.
type JWTSigner struct {
	key  *rsa.PrivateKey
	opts JWTOptions

	mu    sync.Mutex
	token string
	exp   time.Time
}

// streamseaClaims are the claims of a stream-sea token.
type streamseaClaims struct {
	jwt.RegisteredClaims
	MustFanout bool            `json:"mustFanout,omitempty"`
	Filter     json.RawMessage `json:"filter,omitempty"`
}

// NewJWTSigner parses keyPEM, an RSA private key in a PEM block of PKCS#1 ("RSA PRIVATE KEY")
// or PKCS#8 ("PRIVATE KEY") form, and checks opts. It fails for a missing or malformed PEM
// block, an encrypted or non-RSA key, a TTL under one second, or a Filter that is not JSON.
func NewJWTSigner(keyPEM []byte, opts JWTOptions) (*JWTSigner, error) {
	key, err := parseRSAPrivateKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("stream-sea jwt private key: %w", err)
	}
	if opts.TTL == 0 {
		opts.TTL = DefaultJWTTTL
	}
	if opts.TTL < minJWTTTL {
		return nil, fmt.Errorf("stream-sea jwt ttl %s: must be at least %s", opts.TTL, minJWTTTL)
	}
	if len(opts.Filter) > 0 && !json.Valid(opts.Filter) {
		return nil, errors.New("stream-sea jwt filter: not valid JSON")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Filter = append(json.RawMessage(nil), opts.Filter...)
	return &JWTSigner{key: key, opts: opts}, nil
}

// Token returns a signed token with exp = now + TTL (rounded up to whole seconds), iat, and the
// mustFanout and filter claims when set. It returns the previous token while at least a
// quarter of the TTL remains before its exp, so that reconnects reuse it, and mints a new one
// otherwise. It fails only when ctx is done or signing fails.
func (s *JWTSigner) Token(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && s.exp.Sub(now) >= s.opts.TTL/4 {
		return s.token, nil
	}
	exp := ceilSecond(now.Add(s.opts.TTL))
	claims := streamseaClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			ExpiresAt: jwt.NewNumericDate(exp),
			IssuedAt:  jwt.NewNumericDate(now),
		},
		MustFanout: s.opts.MustFanout,
		Filter:     s.opts.Filter,
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodRS512, claims).SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("stream-sea jwt: sign: %w", err)
	}
	s.token, s.exp = token, exp
	return token, nil
}

// ceilSecond rounds t up to a whole second: exp is in unix seconds, and rounding down could
// make a token expire before its TTL.
func ceilSecond(t time.Time) time.Time {
	if r := t.Truncate(time.Second); r.Before(t) {
		return r.Add(time.Second)
	}
	return t
}

// parseRSAPrivateKey returns the RSA key of the first private-key PEM block in b.
func parseRSAPrivateKey(b []byte) (*rsa.PrivateKey, error) {
	var seen []string
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if strings.HasSuffix(block.Type, "PRIVATE KEY") {
			return rsaKeyFromBlock(block)
		}
		seen = append(seen, block.Type)
	}
	if len(seen) == 0 {
		return nil, errors.New("no PEM block found")
	}
	return nil, fmt.Errorf("no private key among the PEM blocks %q", seen)
}

func rsaKeyFromBlock(block *pem.Block) (*rsa.PrivateKey, error) {
	switch block.Type {
	case "RSA PRIVATE KEY":
		if _, encrypted := block.Headers["DEK-Info"]; encrypted {
			return nil, errors.New("the key is encrypted: store it unencrypted (PKCS#1 or PKCS#8)")
		}
		key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PKCS#1: %w", err)
		}
		return key, nil
	case "PRIVATE KEY":
		parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PKCS#8: %w", err)
		}
		key, ok := parsed.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("the PKCS#8 key is %s, not RSA: RS512 needs an RSA key", keyKind(parsed))
		}
		return key, nil
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("the key is encrypted: store it unencrypted (PKCS#1 or PKCS#8)")
	default:
		return nil, fmt.Errorf("PEM block %q: RS512 needs an RSA key (\"RSA PRIVATE KEY\" or \"PRIVATE KEY\")", block.Type)
	}
}

// keyKind names a parsed key's algorithm for error messages.
func keyKind(key any) string {
	name := fmt.Sprintf("%T", key) // e.g. *ecdsa.PrivateKey, ed25519.PrivateKey
	name = strings.TrimPrefix(name, "*")
	name, _, _ = strings.Cut(name, ".")
	return strings.ToUpper(name)
}

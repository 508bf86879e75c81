package streamsea

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testPKI is a self-signed CA and a server certificate for 127.0.0.1 signed by it.
type testPKI struct {
	caFile, certFile, keyFile string
	server                    tls.Certificate
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	caKey := mustKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "seabridge test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leafKey := mustKey(t)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(leafKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := testPKI{
		caFile:   writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER),
		certFile: writePEM(t, dir, "cert.pem", "CERTIFICATE", leafDER),
		keyFile:  writePEM(t, dir, "key.pem", "EC PRIVATE KEY", keyDER),
	}
	p.server, err = tls.LoadX509KeyPair(p.certFile, p.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestClientOverTLS(t *testing.T) {
	pki := newTestPKI(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/streams/s/publish" || r.Header.Get("Authorization") != wantAuth() {
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pki.server}}
	srv.StartTLS()
	defer srv.Close()

	tests := []struct {
		name               string
		caFile             string
		insecureSkipVerify bool
		wantOK             bool
	}{
		{name: "trusted CA file", caFile: pki.caFile, wantOK: true},
		{name: "system roots do not know the CA", wantOK: false},
		{name: "insecure skip verify", insecureSkipVerify: true, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := TLSConfig(tt.caFile, "", "", tt.insecureSkipVerify)
			if err != nil {
				t.Fatalf("TLSConfig: %v", err)
			}
			c, err := NewClient(ClientOptions{
				BaseURL: srv.URL, ClientID: testClientID, ClientSecret: testClientSecret, TLS: cfg,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseIdleConnections()
			err = c.Publish(t.Context(), "s", []byte(`{}`))
			if (err == nil) != tt.wantOK {
				t.Fatalf("Publish: %v, want ok=%v", err, tt.wantOK)
			}
			if err != nil && IsRetriable(err) {
				t.Errorf("an untrusted certificate must not be retriable: %v", err)
			}
		})
	}
}

func TestTLSConfig(t *testing.T) {
	pki := newTestPKI(t)
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                      string
		caFile, certFile, keyFile string
		wantErr                   bool
		wantRoots, wantCert       bool
	}{
		{name: "defaults"},
		{name: "ca", caFile: pki.caFile, wantRoots: true},
		{name: "client cert", certFile: pki.certFile, keyFile: pki.keyFile, wantCert: true},
		{name: "missing ca", caFile: filepath.Join(t.TempDir(), "nope.pem"), wantErr: true},
		{name: "ca without PEM", caFile: notPEM, wantErr: true},
		{name: "cert without key", certFile: pki.certFile, wantErr: true},
		{name: "key without cert", keyFile: pki.keyFile, wantErr: true},
		{name: "key that is not PEM", certFile: pki.certFile, keyFile: notPEM, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := TLSConfig(tt.caFile, tt.certFile, tt.keyFile, false)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if (cfg.RootCAs != nil) != tt.wantRoots || (len(cfg.Certificates) == 1) != tt.wantCert {
				t.Errorf("roots set %v, certificates %d", cfg.RootCAs != nil, len(cfg.Certificates))
			}
			if cfg.MinVersion != tls.VersionTLS12 {
				t.Errorf("MinVersion = %x", cfg.MinVersion)
			}
		})
	}
}

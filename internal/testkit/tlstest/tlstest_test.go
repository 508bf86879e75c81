package tlstest_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"

	"github.com/seabridge/seabridge/internal/testkit/tlstest"
)

func TestCertificatesVerify(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	other := tlstest.NewCA(t, "other CA")
	server := ca.ServerCert(t).Leaf
	client := ca.ClientCert(t, "bridge").Leaf
	serverAuth := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	clientAuth := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	tests := []struct {
		name   string
		leaf   *x509.Certificate
		roots  *x509.CertPool
		host   string
		usages []x509.ExtKeyUsage
		ok     bool
	}{
		{"server for 127.0.0.1", server, ca.Pool(), "127.0.0.1", serverAuth, true},
		{"server for ::1", server, ca.Pool(), "::1", serverAuth, true},
		{"server for localhost", server, ca.Pool(), "localhost", serverAuth, true},
		{"server for another host", server, ca.Pool(), "example.com", serverAuth, false},
		{"server under another CA", server, other.Pool(), "127.0.0.1", serverAuth, false},
		{"server used as a client", server, ca.Pool(), "", clientAuth, false},
		{"client", client, ca.Pool(), "", clientAuth, true},
		{"client under another CA", client, other.Pool(), "", clientAuth, false},
		{"client used as a server", client, ca.Pool(), "127.0.0.1", serverAuth, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.leaf.Verify(x509.VerifyOptions{Roots: tt.roots, DNSName: tt.host, KeyUsages: tt.usages})
			if (err == nil) != tt.ok {
				t.Errorf("Verify = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestFilesLoad(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "test CA")
	pemBytes, err := os.ReadFile(ca.WriteCA(t, dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if pool := x509.NewCertPool(); !pool.AppendCertsFromPEM(pemBytes) {
		t.Errorf("the CA file holds no PEM certificate:\n%s", pemBytes)
	}
	want := ca.ClientCert(t, "bridge")
	certFile, keyFile := tlstest.WriteKeyPair(t, dir, "client", want)
	got, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatalf("LoadX509KeyPair: %v", err)
	}
	if len(got.Certificate) != 1 || !bytes.Equal(got.Certificate[0], want.Certificate[0]) {
		t.Errorf("loaded certificate differs from the written one")
	}
}

func TestServerConfigClientAuth(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	for _, auth := range []tls.ClientAuthType{tls.NoClientCert, tls.RequireAndVerifyClientCert} {
		cfg := ca.ServerConfig(t, auth)
		if cfg.ClientAuth != auth || (cfg.ClientCAs != nil) != (auth != tls.NoClientCert) {
			t.Errorf("ServerConfig(%v): ClientAuth %v, ClientCAs set %v", auth, cfg.ClientAuth, cfg.ClientCAs != nil)
		}
		if len(cfg.Certificates) != 1 {
			t.Errorf("ServerConfig(%v): %d certificates, want 1", auth, len(cfg.Certificates))
		}
	}
}

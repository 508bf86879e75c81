package bridge_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/seabridge/seabridge/internal/testkit/emulatortest"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// writeRSAKey writes a fresh PKCS#1 private key under dir and returns its path and the PEM of
// its public key.
func writeRSAKey(t *testing.T, dir string) (keyFile, publicPEM string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	keyFile = filepath.Join(dir, "bridge.key")
	priv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(keyFile, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	return keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
}

// TestStreamSeaSourceWithMintedJWT runs a stream-sea source on a connection that mints
// 2-second tokens from a private key. The emulator closes the websocket when a token expires
// and refuses an expired one: the bridge must reconnect with a new token and keep delivering.
func TestStreamSeaSourceWithMintedJWT(t *testing.T) {
	kafkatest.ForEachBroker(t, func(t *testing.T, brokers []string) {
		const n = 50
		w := newWorld(t, brokers)
		keyFile, publicPEM := writeRSAKey(t, t.TempDir())
		if _, err := w.rest.SetJWTPublicKey(context.Background(), publicPEM); err != nil {
			t.Fatal(err)
		}
		topic := kafkatest.UniqueTopic(t, "jwt")
		kafkatest.CreateTopic(t, brokers, topic, 1)
		p := s2kPipe("minted-jwt", "boiler", topic)
		p.sourceLines = []string{`connection = "minted"`}
		minted := fmt.Sprintf(`
[streamsea.minted]
url = %q
client_id = %q
jwt_private_key_file = %q
jwt_ttl = "2s"
reconnect_initial = "50ms"
reconnect_max = "500ms"
`, w.emu.URL, emulatortest.ClientID, keyFile)
		app := w.start("a", w.config(settings{}, p)+minted)
		app.awaitReady(t, flowTimeout)

		before := makeRecords("before", 0, n, 5)
		mustPublish(t, w.rest, p.stream, before)
		const connects = "seabridge_streamsea_ws_connects_total"
		eventually(t, flowTimeout, "a reconnection after the token expired", func() (bool, string) {
			c := metricValue(t, app.Registry(), connects, p.name)
			up := metricValue(t, app.Registry(), "seabridge_streamsea_ws_connected", p.name)
			return c >= 2 && up == 1, fmt.Sprintf("%s = %v, connected = %v", connects, c, up)
		})
		after := makeRecords("after", n, n, 5)
		mustPublish(t, w.rest, p.stream, after)

		got := decodeKafka(t, kafkatest.ConsumeN(t, brokers, topic, 2*n, flowTimeout))
		checkExactly(t, append(before, after...), records(got))
		if err := app.stop(t); err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
	})
}

package bridge_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/seabridge/seabridge/internal/testkit/emulatortest"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
	"github.com/seabridge/seabridge/internal/testkit/tlstest"
)

// clientCN is the common name of the client certificate the bridge presents for mutual TLS.
const clientCN = "seabridge"

// tlsFront serves an emulator's API over https from a server whose certificate a test CA
// signed. The emulator keeps its plain listener, so that the test's own REST client and
// subscribers reach it without TLS while the bridge goes through the front.
type tlsFront struct {
	URL string // https://127.0.0.1:PORT

	mu           sync.Mutex
	upgrades     int            // websocket upgrade requests that arrived over TLS
	publishes    int            // publish requests that arrived over TLS
	clientsNamed map[string]int // requests per client certificate common name
}

// serveTLS mounts emu's handler on an httptest server with cfg (see tlstest.CA.ServerConfig)
// and stops it at the end of the test, before the emulator closes.
func serveTLS(t *testing.T, emu *emulatortest.Env, cfg *tls.Config) *tlsFront {
	t.Helper()
	f := &tlsFront{clientsNamed: map[string]int{}}
	api := emu.Server.Handler()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		f.count(r)
		api.ServeHTTP(rw, r)
	}))
	srv.TLS = cfg
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are what some tests want
	srv.StartTLS()
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func (f *tlsFront) count(r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.TLS == nil {
		return
	}
	switch {
	case strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
		f.upgrades++
	case strings.HasSuffix(r.URL.Path, "/publish"):
		f.publishes++
	}
	for _, c := range r.TLS.PeerCertificates[:min(1, len(r.TLS.PeerCertificates))] {
		f.clientsNamed[c.Subject.CommonName]++
	}
}

// checkUsed fails the test unless the bridge subscribed and published through the front and,
// when wantClient is set, presented a client certificate named wantClient on every request.
func (f *tlsFront) checkUsed(t *testing.T, wantClient string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.upgrades == 0 || f.publishes == 0 {
		t.Errorf("over TLS: %d websocket upgrade(s) and %d publish request(s), want some of each", f.upgrades, f.publishes)
	}
	if wantClient == "" {
		if len(f.clientsNamed) > 0 {
			t.Errorf("client certificates %v, want none", f.clientsNamed)
		}
		return
	}
	if len(f.clientsNamed) != 1 || f.clientsNamed[wantClient] == 0 {
		t.Errorf("client certificates %v, want only %q", f.clientsNamed, wantClient)
	}
}

// withTable appends a TOML table to a rendered config; TOML allows a sub-table of
// [streamsea.default] or [kafka.default] after the pipelines.
func withTable(toml, header string, lines ...string) string {
	return toml + "\n[" + header + "]\n" + strings.Join(lines, "\n") + "\n"
}

// tlsPipes are one pipeline of each direction between the default connections, on their own
// streams and topics: stream "tls-in" to topic "tls-out", topic "tls-in" to stream "tls-out".
func tlsPipes() (toKafka, toStreamSea pipe) {
	return s2kPipe("tls-to-kafka", "tls-in", "tls-out"), k2sPipe("tls-to-streamsea", "tls-in", "tls-group", "tls-out")
}

// checkBothDirections publishes to the stream-sea source and produces to the Kafka source of
// tlsPipes on a plaintext Kafka, and expects exactly those records on the other side.
func checkBothDirections(t *testing.T, w *world, app *runningApp) {
	t.Helper()
	toKafka, toStreamSea := tlsPipes()
	sub := w.collect(toStreamSea.stream)
	app.awaitReady(t, flowTimeout)
	fromStreamSea, fromKafka := makeRecords("tls-s", 0, 200, 7), makeRecords("tls-k", 0, 200, 7)
	mustPublish(t, w.rest, toKafka.stream, fromStreamSea)
	kafkatest.Produce(t, w.brokers, toStreamSea.topic, kafkaMessages(fromKafka)...)
	got := decodeKafka(t, kafkatest.ConsumeN(t, w.brokers, toKafka.topic, len(fromStreamSea), flowTimeout))
	sub.awaitIDs(t, fromKafka, flowTimeout)
	if err := app.stop(t); err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
	checkExactly(t, fromStreamSea, records(got))
	checkExactly(t, fromKafka, sub.snapshot())
}

// newTLSWorld is a plaintext kfake broker with the topics of tlsPipes and a plain emulator.
func newTLSWorld(t *testing.T) *world {
	t.Helper()
	toKafka, toStreamSea := tlsPipes()
	return newWorld(t, kafkatest.Brokers(t, kfake.SeedTopics(1, toKafka.topic, toStreamSea.topic)))
}

// checkCertificateFatal waits for Run to fail by itself and checks that its error names the pipeline
// and the certificate problem.
func checkCertificateFatal(t *testing.T, app *runningApp, pipeline string, problem ...string) {
	t.Helper()
	err := app.wait(t, fatalWithin, "with a TLS setting that can never work")
	if err == nil {
		t.Fatal("Run = nil, want an error")
	}
	t.Logf("Run = %v", err)
	for _, s := range append([]string{fmt.Sprintf("%q", pipeline)}, problem...) {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("Run = %v\nwant an error naming %s", err, s)
		}
	}
}

// TestStreamSeaOverTLS runs both directions against stream-sea over https and wss with a
// server certificate from a private CA named in ca_file; without ca_file the certificate
// cannot be trusted, and each pipeline must fail at once, saying so.
func TestStreamSeaOverTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "stream-sea test CA")
	caFile := ca.WriteCA(t, t.TempDir(), "ca.pem")

	t.Run("trusted", func(t *testing.T) {
		w := newTLSWorld(t)
		front := serveTLS(t, w.emu, ca.ServerConfig(t, tls.NoClientCert))
		toKafka, toStreamSea := tlsPipes()
		toml := withTable(w.config(settings{streamseaURL: front.URL}, toKafka, toStreamSea),
			"streamsea.default.tls", fmt.Sprintf("ca_file = %q", caFile))
		checkBothDirections(t, w, w.start("a", toml))
		front.checkUsed(t, "")
	})

	for _, tt := range []struct {
		name    string
		toKafka bool
		problem []string
	}{
		{"untrusted source", true, []string{"not trusted", "certificate signed by unknown authority"}},
		{"untrusted sink", false, []string{"TLS certificate failure", "certificate signed by unknown authority"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newTLSWorld(t)
			front := serveTLS(t, w.emu, ca.ServerConfig(t, tls.NoClientCert))
			toKafka, toStreamSea := tlsPipes()
			p := toStreamSea
			if tt.toKafka {
				p = toKafka
			}
			app := w.start("a", w.config(settings{streamseaURL: front.URL}, p))
			checkCertificateFatal(t, app, p.name, tt.problem...)
		})
	}
}

// TestStreamSeaMutualTLS runs both directions against a stream-sea that requires a client
// certificate from the test CA: with cert_file and key_file they deliver; without a client
// certificate, or with one the server does not trust, each pipeline fails at once.
func TestStreamSeaMutualTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "stream-sea test CA")
	stranger := tlstest.NewCA(t, "unknown CA")
	dir := t.TempDir()
	caFile := ca.WriteCA(t, dir, "ca.pem")
	certFile, keyFile := tlstest.WriteKeyPair(t, dir, "client", ca.ClientCert(t, clientCN))
	strangerCert, strangerKey := tlstest.WriteKeyPair(t, dir, "stranger", stranger.ClientCert(t, clientCN))

	t.Run("client certificate", func(t *testing.T) {
		w := newTLSWorld(t)
		front := serveTLS(t, w.emu, ca.ServerConfig(t, tls.RequireAndVerifyClientCert))
		toKafka, toStreamSea := tlsPipes()
		toml := withTable(w.config(settings{streamseaURL: front.URL}, toKafka, toStreamSea), "streamsea.default.tls",
			fmt.Sprintf("ca_file = %q", caFile), fmt.Sprintf("cert_file = %q", certFile), fmt.Sprintf("key_file = %q", keyFile))
		checkBothDirections(t, w, w.start("a", toml))
		front.checkUsed(t, clientCN)
	})

	// A TLS 1.3 client sends no certificate that the server's list of acceptable CAs rules
	// out, so the server answers a stranger's certificate like a missing one.
	strangerLines := []string{fmt.Sprintf("cert_file = %q", strangerCert), fmt.Sprintf("key_file = %q", strangerKey)}
	sourceProblem := []string{"refused the client's TLS certificate", "certificate required"}
	sinkProblem := []string{"TLS certificate failure", "certificate required"}
	for _, tt := range []struct {
		name    string
		toKafka bool
		lines   []string
		problem []string
	}{
		{"no certificate, source", true, nil, sourceProblem},
		{"no certificate, sink", false, nil, sinkProblem},
		{"untrusted certificate, source", true, strangerLines, sourceProblem},
		{"untrusted certificate, sink", false, strangerLines, sinkProblem},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newTLSWorld(t)
			front := serveTLS(t, w.emu, ca.ServerConfig(t, tls.RequireAndVerifyClientCert))
			toKafka, toStreamSea := tlsPipes()
			p := toStreamSea
			if tt.toKafka {
				p = toKafka
			}
			lines := append([]string{fmt.Sprintf("ca_file = %q", caFile)}, tt.lines...)
			app := w.start("a", withTable(w.config(settings{streamseaURL: front.URL}, p), "streamsea.default.tls", lines...))
			checkCertificateFatal(t, app, p.name, tt.problem...)
		})
	}
}

// tlsChain is a stream-sea -> Kafka -> stream-sea chain: stream "tls-in" to topic "tls-chain"
// to stream "tls-out", so that records reach the end only if both directions work.
func tlsChain() (toKafka, toStreamSea pipe) {
	const topic = "tls-chain"
	return s2kPipe("tls-to-kafka", "tls-in", topic), k2sPipe("tls-to-streamsea", topic, "tls-group", "tls-out")
}

// newKafkaTLSWorld is a plain emulator and a kfake broker that only speaks TLS with cfg, with
// the topic of tlsChain.
func newKafkaTLSWorld(t *testing.T, cfg *tls.Config) *world {
	t.Helper()
	toKafka, _ := tlsChain()
	return newWorld(t, kafkatest.Brokers(t, kfake.TLS(cfg), kfake.SeedTopics(2, toKafka.topic)))
}

// checkChain runs tlsChain with the [kafka.default.tls] lines and expects every record
// published to its first stream to reach its last one, once, through both pipelines.
func checkChain(t *testing.T, w *world, tlsLines ...string) {
	t.Helper()
	toKafka, toStreamSea := tlsChain()
	sub := w.collect(toStreamSea.stream)
	app := w.start("a", withTable(w.config(settings{}, toKafka, toStreamSea), "kafka.default.tls", tlsLines...))
	app.awaitReady(t, flowTimeout)
	want := makeRecords("tls-chain", 0, 300, 7)
	mustPublish(t, w.rest, toKafka.stream, want)
	sub.awaitIDs(t, want, flowTimeout)
	if err := app.stop(t); err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
	checkExactly(t, want, sub.snapshot())
	for _, p := range []pipe{toKafka, toStreamSea} {
		if s := app.pipelineStats(t, p.name); s.In != uint64(len(want)) || s.Out != uint64(len(want)) {
			t.Errorf("%s: in %d out %d, want %d each", p.name, s.In, s.Out, len(want))
		}
	}
}

// TestKafkaOverTLS runs tlsChain over a TLS-only kfake broker whose certificate a private CA
// named in ca_file signed. Without ca_file the certificate cannot be trusted, and each
// pipeline must fail at once, saying so.
func TestKafkaOverTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "kafka test CA")
	caFile := ca.WriteCA(t, t.TempDir(), "ca.pem")

	t.Run("trusted", func(t *testing.T) {
		w := newKafkaTLSWorld(t, ca.ServerConfig(t, tls.NoClientCert))
		checkChain(t, w, "enabled = true", fmt.Sprintf("ca_file = %q", caFile))
	})

	toKafka, toStreamSea := tlsChain()
	for _, p := range []pipe{toKafka, toStreamSea} {
		t.Run("untrusted "+p.name, func(t *testing.T) {
			w := newKafkaTLSWorld(t, ca.ServerConfig(t, tls.NoClientCert))
			app := w.start("a", withTable(w.config(settings{}, p), "kafka.default.tls", "enabled = true"))
			checkCertificateFatal(t, app, p.name, "certificate signed by unknown authority")
		})
	}
}

// TestKafkaMutualTLS runs tlsChain over a TLS-only kfake broker that requires a client
// certificate from the test CA: with cert_file and key_file it delivers; without, or with a
// certificate from another CA, each pipeline fails at once.
func TestKafkaMutualTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "kafka test CA")
	stranger := tlstest.NewCA(t, "unknown CA")
	dir := t.TempDir()
	caLine := fmt.Sprintf("ca_file = %q", ca.WriteCA(t, dir, "ca.pem"))
	keyPairLines := func(certFile, keyFile string) []string {
		return []string{fmt.Sprintf("cert_file = %q", certFile), fmt.Sprintf("key_file = %q", keyFile)}
	}
	own := keyPairLines(tlstest.WriteKeyPair(t, dir, "client", ca.ClientCert(t, clientCN)))
	strangers := keyPairLines(tlstest.WriteKeyPair(t, dir, "stranger", stranger.ClientCert(t, clientCN)))

	t.Run("client certificate", func(t *testing.T) {
		w := newKafkaTLSWorld(t, ca.ServerConfig(t, tls.RequireAndVerifyClientCert))
		checkChain(t, w, append([]string{"enabled = true", caLine}, own...)...)
	})

	toKafka, toStreamSea := tlsChain()
	for _, tt := range []struct {
		name  string
		lines []string
	}{
		{"no certificate", nil},
		{"untrusted certificate", strangers},
	} {
		for _, p := range []pipe{toKafka, toStreamSea} {
			t.Run(tt.name+" "+p.name, func(t *testing.T) {
				w := newKafkaTLSWorld(t, ca.ServerConfig(t, tls.RequireAndVerifyClientCert))
				lines := append([]string{"enabled = true", caLine}, tt.lines...)
				app := w.start("a", withTable(w.config(settings{}, p), "kafka.default.tls", lines...))
				checkCertificateFatal(t, app, p.name, "kafka authentication failed", "certificate required")
			})
		}
	}
}

// Package emulatortest starts the in-memory stream-sea emulator for a test.
//
// Start serves it on a free 127.0.0.1 port and closes it (waiting for every goroutine
// it started) through t.Cleanup, so that packages using goleak stay clean.
package emulatortest

import (
	"testing"

	"github.com/seabridge/seabridge/internal/streamsea/emulator"
)

// The credentials of the client Start registers when opts.Clients is empty.
const (
	ClientID     = "bridge"
	ClientSecret = "bridge-secret"
)

// Env is a running emulator and the credentials to reach it.
type Env struct {
	Server       *emulator.Server
	URL          string // http://127.0.0.1:PORT; the REST API is under URL + "/api/v1"
	WSURL        string // ws://127.0.0.1:PORT; the websocket endpoint is WSURL + "/api/v1/streams"
	ClientID     string // the first client of opts.Clients
	ClientSecret string
}

// Start builds and starts an emulator from opts, listening on 127.0.0.1 on a free
// port unless opts.Addr says otherwise, with one client (ClientID, ClientSecret)
// unless opts.Clients lists some. It fails the test if the emulator cannot start.
func Start(t testing.TB, opts emulator.Options) *Env {
	t.Helper()
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if len(opts.Clients) == 0 {
		opts.Clients = []emulator.Client{{ID: ClientID, Secret: ClientSecret}}
	}
	srv, err := emulator.New(opts)
	if err != nil {
		t.Fatalf("emulatortest: new emulator: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("emulatortest: start emulator: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("emulatortest: close emulator: %v", err)
		}
	})
	return &Env{
		Server:       srv,
		URL:          srv.URL(),
		WSURL:        srv.WSURL(),
		ClientID:     opts.Clients[0].ID,
		ClientSecret: opts.Clients[0].Secret,
	}
}

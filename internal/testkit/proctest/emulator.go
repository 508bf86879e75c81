package proctest

import (
	"testing"
	"time"
)

// The credentials `bridge emulator` accepts by default.
const (
	EmulatorClientID     = "bridge"
	EmulatorClientSecret = "bridge-secret"
)

// Emulator is a `bridge emulator` running as its own process.
type Emulator struct {
	*Proc
	Addr string // 127.0.0.1:PORT
	URL  string // http://127.0.0.1:PORT
}

// StartEmulator starts `bridge emulator` on a free 127.0.0.1 port with the given extra flags
// and waits until /emulator/healthz answers.
func StartEmulator(t testing.TB, extraArgs ...string) *Emulator {
	t.Helper()
	return StartEmulatorAt(t, FreeAddr(t), extraArgs...)
}

// StartEmulatorAt is StartEmulator on a chosen address (to restart an emulator where the
// bridge expects it).
func StartEmulatorAt(t testing.TB, addr string, extraArgs ...string) *Emulator {
	t.Helper()
	args := append([]string{"emulator", "--listen", addr}, extraArgs...)
	p := Start(t, Options{Args: args})
	e := &Emulator{Proc: p, Addr: addr, URL: "http://" + addr}
	WaitHTTP(t, e.URL+"/emulator/healthz", 15*time.Second)
	return e
}

package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// devState is where a running `bridge dev` serves, written to devStatePath while it runs so
// that `bridge tail` and `bridge send` find it on whatever ports it got.
type devState struct {
	PID       int    `json:"pid"`
	Kafka     string `json:"kafka"`     // host:port of the embedded broker
	Streamsea string `json:"streamsea"` // base URL of the emulator
}

// devStatePath is $XDG_CACHE_HOME/seabridge/dev.json (or the platform's cache directory);
// "" when there is none.
func devStatePath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "seabridge", "dev.json")
}

// writeDevState records st and returns a function that removes the record, unless another
// dev process has replaced it since. Failing to write it only costs tail and send their
// discovery: they fall back to the default ports.
func writeDevState(st devState) (remove func()) {
	path := devStatePath()
	noop := func() {}
	if path == "" {
		return noop
	}
	b, err := json.Marshal(st)
	if err != nil {
		return noop
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return noop
	}
	tmp := path + ".tmp" + strconv.Itoa(st.PID)
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return noop
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return noop
	}
	return func() {
		if cur, ok := readDevState(); ok && cur.PID == st.PID {
			os.Remove(path)
		}
	}
}

// readDevState returns the record of a `bridge dev` that is still running.
func readDevState() (devState, bool) {
	path := devStatePath()
	if path == "" {
		return devState{}, false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return devState{}, false
	}
	var st devState
	if json.Unmarshal(b, &st) != nil || st.PID <= 0 || st.Kafka == "" || st.Streamsea == "" {
		return devState{}, false
	}
	if err := syscall.Kill(st.PID, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return devState{}, false // that dev process is gone
	}
	return st, true
}

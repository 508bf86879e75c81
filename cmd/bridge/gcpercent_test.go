package main

import (
	"runtime/debug"
	"testing"
)

func TestSetDefaultGCPercent(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })

	unset := func(string) (string, bool) { return "", false }
	if got := setDefaultGCPercent(unset); got != defaultGCPercent {
		t.Errorf("GOGC unset: target %d, want %d", got, defaultGCPercent)
	}
	if got := debug.SetGCPercent(100); got != defaultGCPercent {
		t.Errorf("GOGC unset: the runtime's target is %d, want %d", got, defaultGCPercent)
	}

	set := func(k string) (string, bool) { return "100", k == "GOGC" }
	if got := setDefaultGCPercent(set); got != 100 {
		t.Errorf("GOGC=100: target %d, want 100 (the environment's)", got)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC=100: the runtime's target is %d, want 100", got)
	}
}

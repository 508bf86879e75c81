package benchmark

import (
	"os"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// Field 2 holds spaces and a ')' of its own; utime 250 and stime 50 ticks are fields 14, 15.
	stat := []byte("4242 (bridge (x) run) S 1 4242 4242 0 -1 4194560 3000 0 0 0 250 50 0 0 20 0 9 0 100 1000000 2000 " +
		"18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n")
	got, err := parseStatCPU(stat)
	if err != nil || got != 3*time.Second {
		t.Errorf("parseStatCPU = %v, %v; want 3s", got, err)
	}
	if _, err := parseStatCPU([]byte("4242 (short) S 1 2")); err == nil {
		t.Error("parseStatCPU of a short line: no error")
	}
}

func TestStatusBytes(t *testing.T) {
	status := []byte("Name:\tbridge\nVmPeak:\t  900 kB\nVmHWM:\t   30720 kB\nVmRSS:\t   20480 kB\n")
	if got := statusBytes(status, "VmHWM:"); got != 30<<20 {
		t.Errorf("VmHWM = %d, want 30 MiB", got)
	}
	if got := statusBytes(status, "VmRSS:"); got != 20<<20 {
		t.Errorf("VmRSS = %d, want 20 MiB", got)
	}
	if got := statusBytes(status, "VmSwap:"); got != 0 {
		t.Errorf("VmSwap = %d, want 0 (absent)", got)
	}
}

func TestReadProcOfThisProcess(t *testing.T) {
	s, err := readProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.rss <= 0 || s.hwm < s.rss || s.cpu < 0 {
		t.Errorf("readProc = %+v: want RSS > 0, peak >= RSS, CPU >= 0", s)
	}
}

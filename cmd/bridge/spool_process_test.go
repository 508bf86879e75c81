package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/seabridge/seabridge/internal/testkit/proctest"
)

// spoolTable is a [pipelines.spool] table for the pipeline before it.
func spoolTable(dir string) string {
	return fmt.Sprintf("[pipelines.spool]\ndir = %q\nfsync = \"never\"\n", dir)
}

// TestFatalStreamSeaErrorStopsASpooledBridgeWhileKafkaIsDown starts a stream-sea -> Kafka
// bridge with a spool, a client secret stream-sea refuses and no Kafka listening: the
// refusal stops the bridge at once, exit code 1 with the reason, although the sink never
// connects.
func TestFatalStreamSeaErrorStopsASpooledBridgeWhileKafkaIsDown(t *testing.T) {
	emu := proctest.StartEmulator(t)
	nowhere := proctest.FreeAddr(t) // nothing listens: Kafka unreachable
	config := bridgeConfig(proctest.FreeAddr(t), "1s", emu.URL, []string{nowhere},
		streamSeaToKafka("s2k", "readings", "out")+spoolTable(t.TempDir()))
	config = strings.Replace(config, fmt.Sprintf("client_secret = %q", proctest.EmulatorClientSecret), `client_secret = "wrong"`, 1)
	p := startBridge(t, config)
	code := p.Wait(procStart)
	stderr := p.Stderr()
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if !regexp.MustCompile(`(?m)^bridge: pipeline "s2k": source: stream-sea source "s2k": fatal: .*(auth|credential)`).MatchString(stderr) {
		t.Errorf("stderr does not end with the reason naming the pipeline and the refused credentials:\n%s", stderr)
	}
}

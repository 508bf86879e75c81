package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/seabridge/seabridge/internal/streamsea/emulator"
	"github.com/seabridge/seabridge/internal/testkit/emulatortest"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

var update = flag.Bool("update", false, "rewrite the golden outputs under testdata/")

// TestValidateConnectNamesEveryMissingTopic compares the output of validate --connect, with
// two of a connection's topics missing, with testdata/connect_missing_topics.golden.
func TestValidateConnectNamesEveryMissingTopic(t *testing.T) {
	brokers := kafkatest.Brokers(t, kfake.SeedTopics(1, "alarms", "seabridge.dlq"))
	emu := emulatortest.Start(t, emulator.Options{})
	cfg := strings.NewReplacer("STREAMSEA_URL", emu.URL, "KAFKA_BROKER", brokers[0]).
		Replace(readFile(t, "testdata/connect_missing_topics.toml"))
	path := filepath.Join(t.TempDir(), "bridge.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"validate", "--connect", "--config", path}, nil, &stdout, &stderr)
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	got := strings.NewReplacer(path, "bridge.toml", emu.URL, "STREAMSEA_URL", brokers[0], "KAFKA_BROKER").
		Replace(stdout.String() + stderr.String())
	golden := "testdata/connect_missing_topics.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want := readFile(t, golden); got != want {
		t.Errorf("output differs from %s\n--- got\n%s--- want\n%s", golden, got, want)
	}
}

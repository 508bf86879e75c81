package main

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/testkit/proctest"
)

// TestDevReloadsOnSIGHUP: `bridge dev --config FILE` reloads FILE on SIGHUP with the embedded
// servers still up: an added pipeline whose Kafka topic is new finds it created and moves
// messages, the unchanged one runs on, and an invalid file is rejected while dev runs on.
func TestDevReloadsOnSIGHUP(t *testing.T) {
	home := []string{"HOME=" + t.TempDir()}
	first := streamSeaToKafka("first", "dev_hup_in", "dev.hup.first")
	path := proctest.WriteFile(t, "dev.toml", first)
	d := startDev(t, home, "--config", path)
	rewrite := func(content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	waitReady := func(want ...string) {
		t.Helper()
		deadline := time.Now().Add(procStart)
		for got := readyPipelines(t, d.http); !slices.Equal(got, want); got = readyPipelines(t, d.http) {
			if d.Exited() || time.Now().After(deadline) {
				t.Fatalf("ready pipelines %v, want %v (exited: %v)\n%s", got, want, d.Exited(), d.Stderr())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	rewrite(first + kafkaToStreamSea("second", "dev.hup.second", "dev-hup-group", "dev_hup_out"))
	d.Signal(syscall.SIGHUP)
	d.WaitStderr(regexp.MustCompile(`msg="config reloaded" added=\[second\] removed=\[\] changed=\[\] restarted=\[\] unchanged=\[first\]`), procStart)
	if !regexp.MustCompile(`created the topics the reloaded config names" topics=\[dev.hup.second\]`).MatchString(d.Stderr()) {
		t.Errorf("dev does not say it created the new topic:\n%s", d.Stderr())
	}
	waitReady("first", "second")
	if code, out := runBridge(t, home, `{"n":1}`+"\n", "send", "kafka", "dev.hup.second"); code != 0 {
		t.Fatalf("send: exit %d\n%s", code, out)
	}
	deadline := time.Now().Add(procStart)
	for published(t, "http://"+d.streamsea, "dev_hup_out") < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the added pipeline published nothing to the emulator\n%s", d.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}

	rewrite(first + "\nnope = 1\n")
	d.Signal(syscall.SIGHUP)
	d.WaitStderr(regexp.MustCompile(`msg="config reload rejected: the running config stays".*nope`), procStart)
	waitReady("first", "second")
	d.Signal(syscall.SIGTERM)
	if code := d.Wait(procExit); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0\n%s", code, d.Stderr())
	}
}

// TestDevDemoIgnoresSIGHUP: the demo's config is embedded: SIGHUP is logged and ignored.
func TestDevDemoIgnoresSIGHUP(t *testing.T) {
	d := startDev(t, []string{"HOME=" + t.TempDir()}, "--rate", "0")
	d.Signal(syscall.SIGHUP)
	d.WaitStderr(regexp.MustCompile(`SIGHUP ignored: the config is embedded`), procStart)
	d.Signal(syscall.SIGTERM)
	if code := d.Wait(procExit); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0\n%s", code, d.Stderr())
	}
}

// published is the emulator's count of messages published to stream.
func published(t *testing.T, emulatorURL, stream string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	code, body, err := proctest.Get(ctx, emulatorURL+"/emulator/stats")
	var st struct {
		Streams []struct {
			Stream    string
			Published uint64
		}
	}
	if err != nil || code != 200 || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("/emulator/stats: %d %v\n%s", code, err, body)
	}
	for _, s := range st.Streams {
		if strings.EqualFold(s.Stream, stream) {
			return s.Published
		}
	}
	return 0
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/testkit/proctest"
)

// TestTailStreamseaClosesCleanly: `bridge tail streamsea` ends its websocket with the closing
// handshake, whether SIGINT, SIGTERM or -n ends it: the emulator counts a close by the client
// and no dropped connection by the time the tail has exited.
func TestTailStreamseaClosesCleanly(t *testing.T) {
	for _, c := range []struct {
		name string
		sig  syscall.Signal // 0: -n 2 ends it, after two messages
	}{{"SIGINT", syscall.SIGINT}, {"SIGTERM", syscall.SIGTERM}, {"-n 2", 0}} {
		t.Run(c.name, func(t *testing.T) {
			emu := proctest.StartEmulator(t)
			cfg := proctest.WriteFile(t, "tail.toml", fmt.Sprintf(`
[streamsea.default]
url = %q
client_id = %q
client_secret = %q
[kafka.default]
brokers = ["127.0.0.1:1"]
[[pipelines]]
name = "p"
[pipelines.source]
type = "streamsea"
streams = ["s"]
[pipelines.sink]
type = "kafka"
topic = "t"
[pipelines.dead_letter]
policy = "drop"
`, emu.URL, proctest.EmulatorClientID, proctest.EmulatorClientSecret))
			args := []string{"tail", "streamsea", "s", "--config", cfg, "--format", "json"}
			if c.sig == 0 {
				args = append(args, "-n", "2")
			}
			tail := proctest.Start(t, proctest.Options{Args: args})
			tail.WaitStderr(regexp.MustCompile(`subscribed to stream-sea stream "s"`), procStart)
			if c.sig == 0 {
				if code, out := runBridge(t, nil, "{\"n\":1}\n{\"n\":2}\n", "send", "streamsea", "s", "--config", cfg); code != 0 {
					t.Fatalf("send: exit %d\n%s", code, out)
				}
			} else {
				tail.Signal(c.sig)
			}
			if code := tail.Wait(procStart); code != 0 {
				t.Fatalf("tail: exit %d\n%s%s", code, tail.Stdout(), tail.Stderr())
			}
			if c.sig == 0 && strings.Count(tail.Stdout(), "\n") != 2 {
				t.Fatalf("tail -n 2 printed:\n%s", tail.Stdout())
			}
			var st struct{ ClientClosed, ClientAborted int }
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			code, body, err := proctest.Get(ctx, emu.URL+"/emulator/stats")
			if err != nil || code != 200 || json.Unmarshal([]byte(body), &st) != nil {
				t.Fatalf("/emulator/stats: %d %v\n%s", code, err, body)
			}
			if st.ClientClosed != 1 || st.ClientAborted != 0 {
				t.Fatalf("emulator: %d connection(s) closed by the client, %d dropped; want 1 and 0\n%s", st.ClientClosed, st.ClientAborted, body)
			}
		})
	}
}

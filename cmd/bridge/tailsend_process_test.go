package main

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/testkit/proctest"
)

// runBridge runs the binary with args, the environment env and stdin, and returns its exit
// code and combined output.
func runBridge(t *testing.T, env []string, stdin string, args ...string) (int, string) {
	t.Helper()
	p := proctest.Start(t, proctest.Options{Args: args, Env: env, Stdin: strings.NewReader(stdin)})
	code := p.Wait(procStart)
	return code, p.Stdout() + p.Stderr()
}

// TestDevDefaultPortsGiveWay: with its default ports taken, dev listens on free ones, says so,
// and tail and send find it through its record.
func TestDevDefaultPortsGiveWay(t *testing.T) {
	holdPorts(t, 10*time.Second, "127.0.0.1:9092", "127.0.0.1:3104", "127.0.0.1:9464")
	home := []string{"HOME=" + t.TempDir()}
	d := proctest.Start(t, proctest.Options{Args: []string{"dev", "--rate", "0", "--progress", "1h"}, Env: home})
	d.WaitStdout(regexp.MustCompile(`every pipeline is ready`), procStart)
	for _, want := range []string{"port 9092 is in use", "port 3104 is in use", "port 9464 is in use"} {
		if !strings.Contains(d.Stdout(), want) {
			t.Errorf("the banner does not say %q:\n%s", want, d.Stdout())
		}
	}
	if code, out := runBridge(t, home, `{"vesselId":"IMO1","temperature":1}`+"\n", "send", "streamsea", "boiler_data"); code != 0 {
		t.Fatalf("send: exit %d\n%s", code, out)
	}
	code, out := runBridge(t, home, "", "tail", "kafka", "boiler.readings", "--from-beginning", "-n", "1", "--timeout", "30s")
	if code != 0 || !strings.Contains(out, `"key":"IMO1"`) {
		t.Fatalf("tail: exit %d\n%s", code, out)
	}
}

// holdPorts listens on each of addrs until the test ends. An address another process holds
// is tried again until wait has passed: a holder that lets go meanwhile (another test's dev
// process) could let go while the test relies on it, so the test must hold it itself. One
// held all along (a developer's bridge dev) is as good.
func holdPorts(t *testing.T, wait time.Duration, addrs ...string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for _, addr := range addrs {
		for {
			ln, err := net.Listen("tcp", addr)
			if err == nil {
				t.Cleanup(func() { ln.Close() })
				break
			}
			if time.Now().After(deadline) {
				t.Logf("%s: %v; another process holds it, which is as good while it does", addr, err)
				break
			}
			time.Sleep(50 * time.Millisecond) // bounded poll: a port being let go has no signal
		}
	}
}

// TestTailAndSendErrors: every failure is a clear message and its exit code, as a process.
func TestTailAndSendErrors(t *testing.T) {
	home := []string{"HOME=" + t.TempDir()}
	d := startDev(t, home, "--rate", "0")
	other := proctest.WriteFile(t, "other.toml", fmt.Sprintf(`
[kafka.other]
brokers = [%q]
[kafka.down]
brokers = ["127.0.0.1:1"]
dial_timeout = "1s"
[streamsea.other]
url = "http://%s"
client_id = "bridge"
client_secret = "bridge-secret"
[[pipelines]]
name = "p"
[pipelines.source]
type = "kafka"
connection = "other"
topics = ["vessel.alarms"]
group_id = "g"
[pipelines.sink]
type = "streamsea"
connection = "other"
stream = "alarms"
[pipelines.dead_letter]
policy = "drop"
`, d.kafka, d.streamsea))
	cases := []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  []string
	}{
		{"send with a config's named connection", `{"a":1}` + "\n" + `{"a":2}` + "\n", []string{"send", "kafka", "vessel.alarms", "--config", other, "--connection", "other", "--header", "h=v"},
			0, []string{`sent 2 message(s) to kafka topic "vessel.alarms"`}},
		{"tail with a config's named connection", "", []string{"tail", "kafka", "vessel.alarms", "--config", other, "--connection", "other", "--from-beginning", "-n", "2", "--timeout", "30s"},
			0, []string{`"value":{"a":1}`, `"value":{"a":2}`, `"headers":{"h":"v"}`}},
		{"missing topic", "", []string{"tail", "kafka", "no.such.topic", "--config", other, "--connection", "other"},
			1, []string{`kafka topic does not exist: "no.such.topic"`}},
		{"unreachable broker", "{}\n", []string{"send", "kafka", "t", "--config", other, "--connection", "down"},
			1, []string{"127.0.0.1:1"}},
		{"line not JSON", "{}\nnot json\n", []string{"send", "kafka", "vessel.alarms"},
			1, []string{"1 sent, then: line 2: not JSON"}},
		{"stream-sea refuses a line", `{"vesselId":"v","raisedAt":"2026-01-01T00:00:00Z","severity":"high","code":1}` + "\n" + `{"severity":"none"}` + "\n",
			[]string{"send", "streamsea", "alarms", "--config", other, "--connection", "other"}, 1, []string{"1 sent, then: line 2: stream-sea publish"}},
		{"unknown connection", "", []string{"tail", "kafka", "t", "--config", other, "--connection", "nope"}, 2, []string{`no kafka connection "nope"`}},
		{"connection without config", "", []string{"tail", "kafka", "t", "--connection", "x"}, 2, []string{"--connection needs --config"}},
		{"no topic", "", []string{"tail", "kafka"}, 2, []string{"want 'kafka TOPIC' or 'streamsea STREAM'"}},
		{"no backlog on stream-sea", "", []string{"tail", "streamsea", "s", "--from-beginning"}, 2, []string{"stream-sea keeps no backlog"}},
		{"key on stream-sea", "{}\n", []string{"send", "streamsea", "s", "--key", "k"}, 2, []string{"--key and --header are for Kafka"}},
		{"bad header", "{}\n", []string{"send", "kafka", "t", "--header", "novalue"}, 2, []string{`"novalue": want KEY=VALUE`}},
		{"bad format", "", []string{"tail", "kafka", "t", "--format", "xml"}, 2, []string{`--format "xml"`}},
		{"timeout before -n", "", []string{"tail", "kafka", "vessel.alarms", "-n", "1", "--timeout", "1s"}, 1, []string{"0 of 1 message(s) within --timeout 1s"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := runBridge(t, home, c.stdin, c.args...)
			if code != c.code {
				t.Errorf("exit code %d, want %d\n%s", code, c.code, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

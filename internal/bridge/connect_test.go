package bridge_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/streamsea/emulator"
	"github.com/seabridge/seabridge/internal/testkit/emulatortest"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// fatalWithin bounds how long a fatal error may take to stop the App: reconnect delays are at
// most 500ms in these configs, so a retry loop would still be running.
const fatalWithin = 10 * time.Second

// TestBadCredentialsAreFatal gives a stream-sea source and a stream-sea sink a wrong client
// secret: App.Run must return promptly, naming the pipeline and the rejected client id.
func TestBadCredentialsAreFatal(t *testing.T) {
	for _, toKafka := range []bool{true, false} {
		name := "stream-sea sink"
		if toKafka {
			name = "stream-sea source"
		}
		t.Run(name, func(t *testing.T) {
			brokers := kafkatest.Brokers(t)
			w := newWorld(t, brokers)
			kafkatest.CreateTopic(t, brokers, "topic", 1)
			p := k2sPipe("wrong-secret", "topic", "group", "stream")
			if toKafka {
				p = s2kPipe("wrong-secret", "stream", "topic")
			}
			app := w.start("a", w.config(settings{secret: "not-the-secret"}, p))
			err := app.wait(t, fatalWithin, "with a wrong client secret")
			want := []string{`"wrong-secret"`, `client "` + emulatortest.ClientID + `"`}
			for _, s := range want {
				if err == nil || !strings.Contains(err.Error(), s) {
					t.Errorf("Run = %v\nwant an error naming %s", err, s)
				}
			}
			if err != nil && strings.HasPrefix(err.Error(), `pipeline "wrong-secret": pipeline "wrong-secret"`) {
				t.Errorf("Run = %v\nwant the pipeline named once, not repeated", err)
			}
		})
	}
}

// TestUnreachableStreamSeaRecovers starts an App whose stream-sea has nothing listening: it
// must keep retrying, report not ready on /readyz and in seabridge_pipeline_up, and once an
// emulator starts on that address become ready and move data.
func TestUnreachableStreamSeaRecovers(t *testing.T) {
	for _, toKafka := range []bool{true, false} {
		name := "stream-sea sink"
		if toKafka {
			name = "stream-sea source"
		}
		t.Run(name, func(t *testing.T) { testUnreachableStreamSea(t, toKafka) })
	}
}

func testUnreachableStreamSea(t *testing.T, toKafka bool) {
	brokers := kafkatest.Brokers(t)
	addr := freeAddr(t)
	w := newWorldWith(t, brokers, nil)
	kafkatest.CreateTopic(t, brokers, "topic", 2)
	p := k2sPipe("later", "topic", "group", "stream")
	if toKafka {
		p = s2kPipe("later", "stream", "topic")
	}
	app := w.start("a", w.config(settings{streamseaURL: "http://" + addr, secret: emulatortest.ClientSecret, httpListen: "127.0.0.1:0"}, p))
	client := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	readyz := "http://" + app.HTTPAddr() + "/readyz"

	eventually(t, flowTimeout, "/readyz reports the pipeline not ready", func() (bool, string) {
		code, body := get(t, client, readyz)
		return code == http.StatusServiceUnavailable && strings.Contains(body, p.name), fmt.Sprintf("%d %q", code, body)
	})
	if up := metricValue(t, app.Registry(), "seabridge_pipeline_up", p.name); up != 0 {
		t.Errorf("seabridge_pipeline_up = %v while stream-sea is unreachable, want 0", up)
	}
	select {
	case <-app.done:
		t.Fatalf("Run returned while stream-sea was unreachable: %v", app.err)
	default:
	}

	w.emu = emulatortest.Start(t, emulator.Options{Addr: addr})
	w.rest = newRESTClient(t, w.emu.URL, w.emu.ClientSecret)
	var sub *collector
	if !toKafka {
		sub = w.collect(p.stream)
	}
	eventually(t, flowTimeout, "/readyz reports ready once stream-sea listens", func() (bool, string) {
		code, body := get(t, client, readyz)
		return code == http.StatusOK, fmt.Sprintf("%d %q", code, body)
	})
	if up := metricValue(t, app.Registry(), "seabridge_pipeline_up", p.name); up != 1 {
		t.Errorf("seabridge_pipeline_up = %v once ready, want 1", up)
	}
	want := makeRecords("late", 0, 200, 5)
	if toKafka {
		mustPublish(t, w.rest, p.stream, want)
		checkExactly(t, want, records(decodeKafka(t, kafkatest.ConsumeN(t, brokers, p.topic, len(want), flowTimeout))))
	} else {
		kafkatest.Produce(t, brokers, p.topic, kafkaMessages(want)...)
		sub.awaitIDs(t, want, flowTimeout)
	}
	if err := app.stop(t); err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
	if sub != nil {
		checkExactly(t, want, sub.snapshot())
	}
}

// freeAddr returns a 127.0.0.1 address that nothing listens on (it was free a moment ago).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

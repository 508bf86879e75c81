package bridge_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// publishGate is a reverse proxy to a stream-sea server that holds every publish request until
// Release (then forwards it) or until the client gives up (then answers 503). Other requests
// pass through.
type publishGate struct {
	URL      string
	held     atomic.Int64 // publish requests that arrived
	release  chan struct{}
	once     sync.Once
	released atomic.Bool
}

func newPublishGate(t *testing.T, target string) *publishGate {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	g := &publishGate{release: make(chan struct{})}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/publish") && !g.released.Load() {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(strings.NewReader(string(body)))
			g.held.Add(1)
			select {
			case <-g.release:
			case <-r.Context().Done():
				http.Error(rw, `{"message":"client went away"}`, http.StatusServiceUnavailable)
				return
			}
		}
		proxy.ServeHTTP(rw, r)
	}))
	t.Cleanup(func() {
		g.Release()
		srv.Close()
	})
	g.URL = srv.URL
	return g
}

// Release forwards the held publishes and every later one.
func (g *publishGate) Release() {
	g.once.Do(func() {
		g.released.Store(true)
		close(g.release)
	})
}

func (g *publishGate) awaitHeld(t *testing.T) {
	t.Helper()
	eventually(t, flowTimeout, "a publish to be held", func() (bool, string) {
		return g.held.Load() > 0, "none yet"
	})
}

func (l *testLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestStopReportsTheLossesOfEveryPipeline stops an App with two pipelines whose stream-sea
// holds every publish, with a 1 s budget: Run returns both pipelines' errors, and each
// pipeline logs its summary and what it gave up on.
func TestStopReportsTheLossesOfEveryPipeline(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	w := newWorld(t, brokers)
	gate := newPublishGate(t, w.emu.URL)
	var pipes []pipe
	for _, name := range []string{"first", "second"} {
		kafkatest.CreateTopic(t, brokers, name, 1)
		kafkatest.Produce(t, brokers, name, kafkaMessages(makeRecords(name, 0, 50, 3))...)
		pipes = append(pipes, withBatch(k2sPipe(name, name, "group-"+name, name+"-stream"), 10))
	}
	app := w.start("a", w.config(settings{streamseaURL: gate.URL, shutdown: "1s"}, pipes...))
	eventually(t, flowTimeout, "both pipelines to hold messages in flight", func() (bool, string) {
		st := app.Stats()
		return st[0].InFlight > 0 && st[1].InFlight > 0, fmt.Sprintf("%+v", st)
	})

	err := app.stop(t)
	logs := w.logs.String()
	for _, name := range []string{"first", "second"} {
		want := fmt.Sprintf(`pipeline %q: shutdown budget expired after 1s`, name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Run = %v, want it to contain %q", err, want)
		}
		s := app.pipelineStats(t, name)
		for _, re := range []string{
			fmt.Sprintf(`level=ERROR msg="pipeline stopped" app=a pipeline=%s in=%d out=0 filtered=0 dead_lettered=0 dropped=0 nacked=%d undelivered=0 error=`, name, s.In, s.Nacked),
			fmt.Sprintf(`level=WARN msg="pipeline gave up on messages; they are read again from the last committed offset" app=a pipeline=%s nacked=%d`, name, s.Nacked),
		} {
			if n := len(regexp.MustCompile(re).FindAllString(logs, -1)); n != 1 || s.Nacked == 0 {
				t.Errorf("pipeline %s (%+v): %d log line(s) match %s, want one", name, s.Stats, n, re)
			}
		}
	}
	if !errors.Is(err, pipeline.ErrShutdownTimeout) {
		t.Errorf("Run = %v, want it to wrap ErrShutdownTimeout", err)
	}
	if !strings.Contains(logs, `level=ERROR msg="bridge stopped"`) {
		t.Errorf("no ERROR \"bridge stopped\" line in the logs")
	}
}

// TestHTTPServesUntilTheDrainIsOver stops an App while its stream-sea holds every publish:
// until the drain is over, /readyz answers 503 naming the shutdown and /metrics keeps
// serving; once Run returned, the server is gone.
func TestHTTPServesUntilTheDrainIsOver(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	w := newWorld(t, brokers)
	gate := newPublishGate(t, w.emu.URL)
	kafkatest.CreateTopic(t, brokers, "in", 1)
	kafkatest.Produce(t, brokers, "in", kafkaMessages(makeRecords("in", 0, 50, 3))...)
	p := withBatch(k2sPipe("drain", "in", "group", "alarms"), 10)
	app := w.start("a", w.config(settings{streamseaURL: gate.URL, shutdown: "30s", httpListen: "127.0.0.1:0"}, p))
	base := "http://" + app.HTTPAddr()
	app.awaitReady(t, flowTimeout)
	gate.awaitHeld(t)

	app.cancel()
	eventually(t, flowTimeout, "/readyz to answer 503 naming the shutdown", func() (bool, string) {
		code, body := httpGet(t, base+"/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "shutting down"), fmt.Sprintf("%d %s", code, body)
	})
	if code, body := httpGet(t, base+"/metrics"); code != http.StatusOK ||
		!strings.Contains(body, `seabridge_pipeline_in_flight_messages{direction="kafka_to_streamsea",pipeline="drain"}`) {
		t.Errorf("GET /metrics during the drain: %d, want 200 with the in-flight gauge", code)
	}
	select {
	case <-app.done:
		t.Fatalf("Run returned while a publish was held: %v", app.err)
	default:
	}

	gate.Release()
	if err := app.wait(t, stopTimeout, "after the publishes were released"); err != nil {
		t.Fatalf("Run = %v, want nil: the drain completed", err)
	}
	if s := app.pipelineStats(t, "drain"); s.In == 0 || s.Out != s.In || s.Nacked != 0 {
		t.Errorf("stats %+v: want everything read written, none nacked", s.Stats)
	}
	http.DefaultClient.CloseIdleConnections()
	if resp, err := http.Get(base + "/livez"); err == nil {
		resp.Body.Close()
		t.Errorf("the HTTP server still answers after Run returned")
	}
}

// httpGet returns the status and body of url; a failed request fails the test.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

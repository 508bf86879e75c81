package bridge_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// readyz returns /readyz's status code and its checks by name.
func readyz(t *testing.T, addr string) (int, map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/readyz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r struct {
		Checks []struct {
			Name   string
			Ready  bool
			Reason string
		}
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("/readyz: %v\n%s", err, body)
	}
	out := map[string]string{}
	for _, c := range r.Checks {
		out[c.Name] = "ready"
		if !c.Ready {
			out[c.Name] = c.Reason
		}
	}
	return resp.StatusCode, out
}

// TestIsolatedPipelineFailure: with bridge.on_pipeline_failure = "isolate", a pipeline whose
// source topic does not exist (a fatal error) stays failed, visible in /pipelines, /readyz
// and its metrics, while the other pipeline runs on; once the topic exists, a reload starts it
// again.
func TestIsolatedPipelineFailure(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	w := newWorld(t, brokers)
	goodTopic, missingTopic := kafkatest.UniqueTopic(t, "iso-good"), kafkatest.UniqueTopic(t, "iso-missing")
	kafkatest.CreateTopic(t, brokers, goodTopic, 1)
	good := s2kPipe("good", "iso_in", goodTopic)
	bad := pipe{name: "bad", stream: "iso_out", topic: missingTopic, group: "iso-bad"}
	toml := strings.Replace(w.config(settings{httpListen: "127.0.0.1:0"}, good, bad),
		"[bridge]\n", "[bridge]\non_pipeline_failure = \"isolate\"\n", 1)
	app := w.start("a", toml)
	eventually(t, flowTimeout, "pipeline bad failed", func() (bool, string) {
		st := app.Pipelines()[1]
		return st.State == pipeline.StateFailed, st.State
	})
	st := app.Pipelines()[1]
	if st.LastError == nil || !strings.Contains(*st.LastError, missingTopic) {
		t.Errorf("the failed pipeline's last error = %v, want the missing topic named", st.LastError)
	}
	if v := metricValue(t, app.Registry(), "seabridge_pipeline_failed", "bad"); v != 1 {
		t.Errorf("seabridge_pipeline_failed{pipeline=bad} = %v, want 1", v)
	}
	if v := metricValue(t, app.Registry(), "seabridge_pipeline_failed", "good"); v != 0 {
		t.Errorf("seabridge_pipeline_failed{pipeline=good} = %v, want 0", v)
	}
	code, checks := readyz(t, app.HTTPAddr())
	if code != http.StatusServiceUnavailable || !strings.HasPrefix(checks["pipeline/bad"], "failed: ") {
		t.Errorf("/readyz = %d %v, want 503 with pipeline/bad failed", code, checks)
	}

	// The other pipeline runs on.
	eventually(t, flowTimeout, "pipeline good ready", func() (bool, string) {
		return app.Pipelines()[0].Ready, ""
	})
	mustPublish(t, w.rest, good.stream, makeRecords("iso", 0, 5, 1))
	kafkatest.ConsumeN(t, brokers, goodTopic, 5, flowTimeout)
	select {
	case <-app.done:
		t.Fatalf("Run returned: %v; with isolate a failed pipeline must not stop the bridge", app.err)
	default:
	}

	// Fixed outside the bridge, started again by a reload of the same config.
	kafkatest.CreateTopic(t, brokers, missingTopic, 1)
	rep := app.reload(t, toml)
	if !sameNames(rep.Restarted, "bad") || !sameNames(rep.Unchanged, "good") {
		t.Fatalf("reload: %+v, want bad restarted and good untouched", rep)
	}
	app.awaitReady(t, flowTimeout)
	if code, checks := readyz(t, app.HTTPAddr()); code != http.StatusOK {
		t.Errorf("/readyz after the restart = %d %v", code, checks)
	}
	if v := metricValue(t, app.Registry(), "seabridge_pipeline_failed", "bad"); v != 0 {
		t.Errorf("seabridge_pipeline_failed{pipeline=bad} = %v after the restart, want 0", v)
	}
	if err := app.stop(t); err != nil {
		t.Errorf("Run after cancel = %v, want nil: the failure was repaired", err)
	}
}

// TestPipelineFailureStopsTheBridgeByDefault: without on_pipeline_failure, one pipeline's
// fatal error stops them all, and Run reports it.
func TestPipelineFailureStopsTheBridgeByDefault(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	w := newWorld(t, brokers)
	goodTopic, missingTopic := kafkatest.UniqueTopic(t, "stop-good"), kafkatest.UniqueTopic(t, "stop-missing")
	kafkatest.CreateTopic(t, brokers, goodTopic, 1)
	good := s2kPipe("good", "stop_in", goodTopic)
	bad := pipe{name: "bad", stream: "stop_out", topic: missingTopic, group: "stop-bad"}
	app := w.start("a", w.config(settings{}, good, bad))
	err := app.wait(t, flowTimeout, "after a fatal pipeline error")
	if err == nil || !strings.Contains(err.Error(), missingTopic) || !strings.Contains(err.Error(), `pipeline "bad"`) {
		t.Fatalf("Run = %v, want the fatal error of pipeline bad", err)
	}
}

package bridge_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/bridge"
	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/streamsea/emulator"
	"github.com/seabridge/seabridge/internal/testkit/emulatortest"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// getJSON GETs url and decodes its JSON body into v, returning the status code.
func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(body), emulatortest.ClientSecret) {
		t.Fatalf("GET %s shows the stream-sea client secret:\n%s", url, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", url, err, body)
	}
	return resp.StatusCode
}

// TestPipelinesEndpoint: GET /pipelines shows each pipeline's state, connections, counters
// and last error, and GET /pipelines/{name} one of them; no secret shows.
func TestPipelinesEndpoint(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	w := newWorld(t, brokers)
	topic := kafkatest.UniqueTopic(t, "status")
	kafkatest.CreateTopic(t, brokers, topic, 2)
	in := s2kPipe("in", "status_in", topic)
	in.deadLetter, in.dlqTopic = "dlq", topic
	out := pipe{name: "out", stream: "status_out", topic: topic, group: "status-out"}
	app := w.start("a", w.config(settings{httpListen: "127.0.0.1:0"}, in, out))
	app.awaitReady(t, flowTimeout)
	mustPublish(t, w.rest, in.stream, makeRecords("st", 0, 5, 2))
	eventually(t, flowTimeout, "both pipelines moved the 5 records", func() (bool, string) {
		s := app.Pipelines()
		return s[0].Counters.Out == 5 && s[1].Counters.Out == 5, ""
	})

	base := "http://" + app.HTTPAddr()
	var all struct{ Pipelines []bridge.PipelineStatus }
	if code := getJSON(t, base+"/pipelines", &all); code != 200 || len(all.Pipelines) != 2 {
		t.Fatalf("GET /pipelines = %d with %d pipelines, want 200 with 2", code, len(all.Pipelines))
	}
	got := all.Pipelines[0]
	if got.Name != "in" || got.State != pipeline.StateRunning || !got.Ready || got.Direction != pipeline.DirectionStreamSeaToKafka {
		t.Errorf("pipeline in: %+v, want running, ready, stream-sea to Kafka", got)
	}
	if got.Source.Type != "streamsea" || got.Source.Connection != "default" || got.Source.Servers[0] != w.emu.URL ||
		got.Source.Streams[0] != in.stream || got.Source.GroupID != in.group {
		t.Errorf("pipeline in: source %+v", got.Source)
	}
	if got.Sink.Type != "kafka" || strings.Join(got.Sink.Servers, ",") != strings.Join(brokers, ",") || got.Sink.Topics[0] != topic {
		t.Errorf("pipeline in: sink %+v", got.Sink)
	}
	if got.DeadLetter.Policy != "dlq" || got.DeadLetter.Topic != topic {
		t.Errorf("pipeline in: dead letter %+v", got.DeadLetter)
	}
	if got.Counters.In != 5 || got.Counters.Out != 5 || got.InFlight != 0 || got.Lag != nil || got.LastError != nil {
		t.Errorf("pipeline in: counters %+v, in flight %d, lag %v, last error %v", got.Counters, got.InFlight, got.Lag, got.LastError)
	}

	var one bridge.PipelineStatus
	if code := getJSON(t, base+"/pipelines/out", &one); code != 200 || one.Name != "out" ||
		one.Source.Topics[0] != topic || one.Source.GroupID != "status-out" || one.Sink.Streams[0] != out.stream {
		t.Errorf("GET /pipelines/out = %d %+v", code, one)
	}
	var missing map[string]string
	if code := getJSON(t, base+"/pipelines/nope", &missing); code != 404 || !strings.Contains(missing["error"], "nope") {
		t.Errorf("GET /pipelines/nope = %d %v, want 404 naming it", code, missing)
	}

	// A failing sink shows as retrying with its error.
	if _, err := w.emu.Server.AddFault(emulator.Fault{Kind: emulator.FaultError, Route: emulator.RoutePublish, Stream: out.stream, Status: 503}); err != nil {
		t.Fatal(err)
	}
	kafkatest.Produce(t, brokers, topic, kafkaMessages(makeRecords("st", 5, 1, 1))...)
	eventually(t, flowTimeout, "pipeline out retrying", func() (bool, string) {
		var st bridge.PipelineStatus
		getJSON(t, base+"/pipelines/out", &st)
		return st.State == pipeline.StateRetrying && st.LastError != nil && st.LastAt != nil, st.State
	})
}

package bridge_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seabridge/seabridge/internal/bridge"
	"github.com/seabridge/seabridge/internal/config"
	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// reload applies the TOML text to app and fails the test when it is rejected.
func (r *runningApp) reload(t *testing.T, toml string) bridge.ReloadReport {
	t.Helper()
	rep, err := r.Reload(func() (*config.Config, error) { return config.LoadBytes([]byte(toml), nil) })
	if err != nil {
		t.Fatalf("app %s: reload: %v\n%s", r.name, err, toml)
	}
	return rep
}

// pipelineStatus returns the status of the named pipeline that no reload is replacing.
func (r *runningApp) pipelineStatus(t *testing.T, name string) bridge.PipelineStatus {
	t.Helper()
	var found []bridge.PipelineStatus
	for _, st := range r.Pipelines() {
		if st.Name == name && st.State != pipeline.StateStopping && st.State != pipeline.StateStopped {
			found = append(found, st)
		}
	}
	if len(found) != 1 {
		t.Fatalf("app %s: %d live pipelines named %q: %+v", r.name, len(found), name, r.Pipelines())
	}
	return found[0]
}

// gatheredPipelines lists the pipeline label values of a metric family in the app's registry.
func gatheredPipelines(t *testing.T, r *runningApp, family string) []string {
	t.Helper()
	families, err := r.Registry().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var out []string
	for _, f := range families {
		if f.GetName() != family {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "pipeline" && !slices.Contains(out, l.GetValue()) {
					out = append(out, l.GetValue())
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

func sameNames(got []string, want ...string) bool {
	return strings.Join(got, ",") == strings.Join(want, ",")
}

// TestReloadReplacesOnlyWhatChanged reloads a config that keeps one pipeline, changes one,
// removes one and adds one: the kept one runs on untouched, the changed one runs the new
// config, the removed one is gone with its metrics, the added one runs.
func TestReloadReplacesOnlyWhatChanged(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	w := newWorld(t, brokers)
	keepTopic, changeTopic, k2sTopic := kafkatest.UniqueTopic(t, "keep"), kafkatest.UniqueTopic(t, "change"), kafkatest.UniqueTopic(t, "k2s")
	for _, topic := range []string{keepTopic, changeTopic, k2sTopic} {
		kafkatest.CreateTopic(t, brokers, topic, 1)
	}
	keep := s2kPipe("keep", "keep_in", keepTopic)
	change := s2kPipe("change", "change_in", changeTopic)
	drop := pipe{name: "drop", stream: "drop_out", topic: k2sTopic, group: "reload-drop"}
	add := pipe{name: "add", stream: "add_out", topic: k2sTopic, group: "reload-add"}
	app := w.start("a", w.config(settings{}, keep, change, drop))
	app.awaitReady(t, flowTimeout)
	mustPublish(t, w.rest, keep.stream, makeRecords("k", 0, 3, 3))
	mustPublish(t, w.rest, change.stream, makeRecords("c", 0, 3, 3))
	kafkatest.ConsumeN(t, brokers, keepTopic, 3, flowTimeout)
	kafkatest.ConsumeN(t, brokers, changeTopic, 3, flowTimeout)
	keptBefore := app.pipelineStatus(t, "keep")
	removedFamilies := []string{"seabridge_pipeline_messages_in_total", "seabridge_pipeline_up", "seabridge_pipeline_failed",
		"seabridge_kafka_lag_scrape_errors_total", "seabridge_kafka_assigned_partitions"}
	for _, family := range removedFamilies {
		if got := gatheredPipelines(t, app, family); !slices.Contains(got, "drop") {
			t.Fatalf("%s has no series of pipeline drop before the reload: %v", family, got)
		}
	}

	changed := change
	changed.mappingLines = []string{`key = "/id"`} // was /key
	rep := app.reload(t, w.config(settings{httpListen: "127.0.0.1:0"}, keep, changed, add))
	if !sameNames(rep.Added, "add") || !sameNames(rep.Removed, "drop") || !sameNames(rep.Changed, "change") ||
		!sameNames(rep.Unchanged, "keep") || len(rep.Restarted) != 0 || !sameNames(rep.RestartRequired, "http.listen") {
		t.Fatalf("reload report %+v", rep)
	}
	app.awaitReady(t, flowTimeout)
	if got := app.Stats(); len(got) != 3 || got[0].Name != "keep" || got[1].Name != "change" || got[2].Name != "add" {
		t.Fatalf("pipelines after the reload: %+v, want keep, change, add in config order", got)
	}
	if app.HTTPAddr() != "" {
		t.Error("http.listen applied by a reload; it needs a restart")
	}

	// The kept pipeline ran on: its counters continue.
	mustPublish(t, w.rest, keep.stream, makeRecords("k", 3, 2, 3))
	kafkatest.ConsumeN(t, brokers, keepTopic, 5, flowTimeout)
	eventually(t, flowTimeout, "keep counts on", func() (bool, string) {
		st := app.pipelineStatus(t, "keep")
		return st.Counters.Out == keptBefore.Counters.Out+2 && st.Counters.Reconnects == 0, ""
	})
	// The changed one writes with its new mapping, counting from 0.
	mustPublish(t, w.rest, change.stream, makeRecords("c", 3, 1, 3))
	msgs := kafkatest.ConsumeN(t, brokers, changeTopic, 4, flowTimeout)
	if last := msgs[len(msgs)-1]; string(last.Key) != "c-000003" {
		t.Errorf("the changed pipeline keyed a record %q, want its id (mapping.key = /id)", last.Key)
	}
	if st := app.pipelineStatus(t, "change"); st.Counters.In != 1 {
		t.Errorf("the changed pipeline counts in = %d since its restart, want 1", st.Counters.In)
	}
	// The added one runs; the removed one is gone, with its series.
	c := w.collect(add.stream)
	kafkatest.Produce(t, brokers, k2sTopic, kafkaMessages(makeRecords("a", 0, 2, 1))...)
	c.awaitCount(t, 2, flowTimeout)
	for _, family := range removedFamilies {
		if got := gatheredPipelines(t, app, family); slices.Contains(got, "drop") {
			t.Errorf("%s still has a series of the removed pipeline: %v", family, got)
		}
	}
	if got := gatheredPipelines(t, app, "seabridge_pipeline_messages_in_total"); !sameNames(got, "add", "change", "keep") {
		t.Errorf("pipelines with series: %v", got)
	}
	for _, m := range []struct {
		name, result string
		want         float64
	}{{"seabridge_config_reloads_total", "success", 1}, {"seabridge_config_reloads_total", "failure", 0},
		{"seabridge_config_last_reload_successful", "", 1}, {"seabridge_config_restart_required", "", 1}} {
		if got := gaugeOrCounter(t, app, m.name, m.result); got != m.want {
			t.Errorf("%s{result=%q} = %v, want %v", m.name, m.result, got, m.want)
		}
	}
	if err := app.stop(t); err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
}

// gaugeOrCounter returns the value of a process-wide family's series, by its result label
// ("" for none).
func gaugeOrCounter(t *testing.T, r *runningApp, name, result string) float64 {
	t.Helper()
	families, err := r.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			match := result == ""
			for _, l := range m.GetLabel() {
				match = match || (l.GetName() == "result" && l.GetValue() == result)
			}
			if !match {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no series %s{result=%q}", name, result)
	return 0
}

// TestReloadRejectsAConfigThatCannotApply: a config that does not load, and one that loads
// but cannot be wired, are rejected and counted; the pipelines run on.
func TestReloadRejectsAConfigThatCannotApply(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	w := newWorld(t, brokers)
	topic := kafkatest.UniqueTopic(t, "reject")
	kafkatest.CreateTopic(t, brokers, topic, 1)
	p := s2kPipe("p", "reject_in", topic)
	good := w.config(settings{}, p)
	app := w.start("a", good)
	app.awaitReady(t, flowTimeout)

	if _, err := app.Reload(func() (*config.Config, error) { return nil, errors.New("parse TOML: line 3") }); err == nil ||
		!strings.Contains(err.Error(), "line 3") {
		t.Fatalf("reload of a config that does not load = %v", err)
	}
	badCA := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(badCA, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	unwirable := strings.Replace(good, "[kafka.default]\n", "[kafka.default]\ntls = { enabled = true, ca_file = \""+badCA+"\" }\n", 1)
	if _, err := app.Reload(func() (*config.Config, error) { return config.LoadBytes([]byte(unwirable), nil) }); err == nil {
		t.Fatal("a config whose CA file holds no certificate was applied")
	}
	if got := gaugeOrCounter(t, app, "seabridge_config_reloads_total", "failure"); got != 2 {
		t.Errorf("failed reloads = %v, want 2", got)
	}
	if got := gaugeOrCounter(t, app, "seabridge_config_last_reload_successful", ""); got != 0 {
		t.Errorf("last_reload_successful = %v, want 0", got)
	}
	before := app.pipelineStatus(t, "p")
	mustPublish(t, w.rest, p.stream, makeRecords("r", 0, 3, 1))
	kafkatest.ConsumeN(t, brokers, topic, 3, flowTimeout)
	if st := app.pipelineStatus(t, "p"); st.State != pipeline.StateRunning || st.Counters.Reconnects != before.Counters.Reconnects {
		t.Errorf("after rejected reloads: %+v, want the pipeline running on", st)
	}
	rep := app.reload(t, good)
	if !sameNames(rep.Unchanged, "p") || len(rep.Changed)+len(rep.Added)+len(rep.Removed) != 0 {
		t.Errorf("reloading the running config: %+v, want it unchanged", rep)
	}
	if got := gaugeOrCounter(t, app, "seabridge_config_last_reload_successful", ""); got != 1 {
		t.Errorf("last_reload_successful = %v after a good reload, want 1", got)
	}
}

// TestReloadSpooledPipelineReleasesItsSpool changes a stream-sea -> Kafka pipeline with a
// spool: the old pipeline closes its spool before the new one opens the same directory, and
// the new one runs (an overlap would find the directory locked, a fatal error).
func TestReloadSpooledPipelineReleasesItsSpool(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	w := newWorld(t, brokers)
	topic := kafkatest.UniqueTopic(t, "reload-spool")
	kafkatest.CreateTopic(t, brokers, topic, 1)
	p := spooled(s2kPipe("spooled", "spool_in", topic), t.TempDir())
	app := w.start("a", w.config(settings{}, withBatch(p, 100)))
	app.awaitReady(t, flowTimeout)
	mustPublish(t, w.rest, p.stream, makeRecords("sp", 0, 3, 1))
	kafkatest.ConsumeN(t, brokers, topic, 3, flowTimeout)

	if rep := app.reload(t, w.config(settings{}, withBatch(p, 50))); !sameNames(rep.Changed, "spooled") {
		t.Fatalf("reload: %+v", rep)
	}
	app.awaitReady(t, flowTimeout)
	mustPublish(t, w.rest, p.stream, makeRecords("sp", 3, 3, 1))
	checkExactly(t, makeRecords("sp", 0, 6, 1), records(decodeKafka(t, kafkatest.ConsumeN(t, brokers, topic, 6, flowTimeout))))
	if st := app.pipelineStatus(t, p.name); st.State != pipeline.StateRunning || st.LastError != nil {
		t.Errorf("after the reload: %+v", st)
	}
}

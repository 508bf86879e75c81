package bridge_test

import (
	"fmt"
	"testing"

	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// TestManyPipelinesInOneApp runs two pipelines each way in one App, on distinct topics and
// streams, and expects every one of them to deliver exactly what it was given.
func TestManyPipelinesInOneApp(t *testing.T) {
	const n = 500
	brokers := kafkatest.Brokers(t)
	w := newWorld(t, brokers)
	var toKafka, toStreamSea []pipe
	for i := range 2 {
		topic := fmt.Sprintf("out-%d", i)
		kafkatest.CreateTopic(t, brokers, topic, 2)
		toKafka = append(toKafka, s2kPipe(fmt.Sprintf("to-kafka-%d", i), fmt.Sprintf("in_%d", i), topic))
		topic = fmt.Sprintf("in-%d", i)
		kafkatest.CreateTopic(t, brokers, topic, 2)
		toStreamSea = append(toStreamSea, k2sPipe(fmt.Sprintf("to-streamsea-%d", i), topic, "group-"+topic, fmt.Sprintf("out_%d", i)))
	}
	collectors := make([]*collector, len(toStreamSea))
	for i, p := range toStreamSea {
		collectors[i] = w.collect(p.stream)
	}
	app := w.start("a", w.config(settings{}, append(toKafka, toStreamSea...)...))
	app.awaitReady(t, flowTimeout)

	sent := map[string][]record{}
	for i, p := range toStreamSea {
		sent[p.name] = makeRecords(fmt.Sprintf("k2s%d", i), 0, n, 7)
		kafkatest.Produce(t, brokers, p.topic, kafkaMessages(sent[p.name])...)
	}
	for i, p := range toKafka {
		sent[p.name] = makeRecords(fmt.Sprintf("s2k%d", i), 0, n, 7)
		mustPublish(t, w.rest, p.stream, sent[p.name])
	}
	for i, p := range toStreamSea {
		collectors[i].awaitIDs(t, sent[p.name], flowTimeout)
	}
	for _, p := range toKafka {
		got := decodeKafka(t, kafkatest.ConsumeN(t, brokers, p.topic, n, flowTimeout))
		checkExactly(t, sent[p.name], records(got))
	}
	if err := app.stop(t); err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
	for i, p := range toStreamSea {
		checkExactly(t, sent[p.name], collectors[i].snapshot())
		checkCommittedAtEnd(t, brokers, p.group, p.topic)
	}
	for _, p := range toKafka {
		if total := sumOffsets(kafkatest.HighWaterMarks(t, brokers, p.topic)); total != n {
			t.Errorf("%s: topic %s holds %d record(s), want %d", p.name, p.topic, total, n)
		}
	}
	for _, s := range app.Stats() {
		if s.In != n || s.Out != n {
			t.Errorf("%s: in %d out %d, want %d each", s.Name, s.In, s.Out, n)
		}
	}
}

// TestTwoInstancesShareAStream runs two Apps with the same config (but their instance ids)
// subscribed to one stream with one group_id: the emulator splits the deliveries, so the
// topic must hold everything published exactly once, and both instances must carry a share.
func TestTwoInstancesShareAStream(t *testing.T) {
	const n = 2000
	brokers := kafkatest.Brokers(t)
	w := newWorld(t, brokers)
	kafkatest.CreateTopic(t, brokers, "shared", 3)
	p := s2kPipe("shared-to-kafka", "shared", "shared")
	a := w.start("a", w.config(settings{instance: "bridge-a"}, p))
	b := w.start("b", w.config(settings{instance: "bridge-b"}, p))
	a.awaitReady(t, flowTimeout)
	b.awaitReady(t, flowTimeout)
	eventually(t, flowTimeout, "both instances subscribed", func() (bool, string) {
		st := w.emu.Server.Stats()
		return st.Subscriptions == 2, fmt.Sprintf("emulator stats %+v", st)
	})

	want := makeRecords("shared", 0, n, 11)
	mustPublish(t, w.rest, p.stream, want)
	got := decodeKafka(t, kafkatest.ConsumeN(t, brokers, p.topic, n, flowTimeout))
	checkNoLossNoDuplicate(t, want, records(got))
	if total := sumOffsets(kafkatest.HighWaterMarks(t, brokers, p.topic)); total != n {
		t.Errorf("topic holds %d record(s), want exactly %d", total, n)
	}
	share := map[string]int{}
	for _, kr := range got {
		v, _ := header(kr.msg, "seabridge-instance")
		share[v]++
	}
	if share["bridge-a"] == 0 || share["bridge-b"] == 0 || share["bridge-a"]+share["bridge-b"] != n {
		t.Errorf("records per instance %v, want both bridge-a and bridge-b to carry some, %d in all", share, n)
	}
	for _, app := range []*runningApp{a, b} {
		if err := app.stop(t); err != nil {
			t.Errorf("app %s: Run after cancel = %v, want nil", app.name, err)
		}
	}
	if in := a.pipelineStats(t, p.name).In + b.pipelineStats(t, p.name).In; in != n {
		t.Errorf("the instances read %d record(s) together, want %d", in, n)
	}
}

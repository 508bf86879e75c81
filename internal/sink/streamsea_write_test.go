package sink

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/streamsea"
)

func messages(values ...string) []*pipeline.Message {
	out := make([]*pipeline.Message, len(values))
	for i, v := range values {
		out[i] = &pipeline.Message{Value: []byte(v)}
	}
	return out
}

func connectedSink(t *testing.T, opts StreamSeaOptions) *sinkFixture {
	t.Helper()
	f := newSinkFixture(t, opts, fakeClientSecret)
	if err := f.sink.Connect(testCtx(t)); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	return f
}

func poisonIndexes(t *testing.T, err error) []int {
	t.Helper()
	if err == nil {
		return nil
	}
	p, ok := errors.AsType[*pipeline.PoisonError](err)
	if !ok {
		t.Fatalf("Write = %v, want nil or a *PoisonError", err)
	}
	return slices.Sorted(maps.Keys(p.Errs))
}

func (f *sinkFixture) requestCount(result string) float64 {
	return testutil.ToFloat64(f.metrics.requests.WithLabelValues("orders", result))
}

func TestStreamSeaWriteBisectsServerRejections(t *testing.T) {
	f := connectedSink(t, StreamSeaOptions{})
	bad := map[int]bool{2: true, 7: true, 13: true}
	var values, want []string
	for i := range 16 {
		v := fmt.Sprintf(`{"i":%d}`, i)
		if bad[i] {
			v = fmt.Sprintf(`{"i":%d,"bad":true}`, i)
		} else {
			want = append(want, v)
		}
		values = append(values, v)
	}
	err := f.sink.Write(testCtx(t), messages(values...))
	if got := poisonIndexes(t, err); !slices.Equal(got, []int{2, 7, 13}) {
		t.Fatalf("poison indexes = %v, want [2 7 13]", got)
	}
	for i, e := range err.(*pipeline.PoisonError).Errs {
		if !strings.Contains(e.Error(), "Payload does not match the schema") {
			t.Errorf("poison %d: %v does not carry the server's message", i, e)
		}
	}
	published, requests, _ := f.fake.snapshot()
	if !slices.Equal(published[testStream], want) {
		t.Errorf("published %v, want each good message once, in order: %v", published[testStream], want)
	}
	if got := testutil.ToFloat64(f.metrics.published.WithLabelValues("orders")); got != 13 {
		t.Errorf("published_messages_total = %v, want 13", got)
	}
	rejected := 0
	for _, r := range requests {
		if r.Status == 400 {
			rejected++
		}
	}
	if got := f.requestCount(publishRejected); got != float64(rejected) || rejected < 3 {
		t.Errorf("rejected requests: metric %v, server %d", got, rejected)
	}
}

func TestStreamSeaWriteValidatesLocally(t *testing.T) {
	f := connectedSink(t, StreamSeaOptions{Schema: desiredSchema(), Validate: true})
	batch := messages(
		`{"key":"a","count":1}`,
		`{"key":"b","count":"two"}`, // wrong type
		`[1,2]`,                     // not an object
		`{"key":"c","count":3}`,
		`{"key":"d"`, // not JSON
		`{"key":"e","count":5}`,
	)
	err := f.sink.Write(testCtx(t), batch)
	if got := poisonIndexes(t, err); !slices.Equal(got, []int{1, 2, 4}) {
		t.Fatalf("poison indexes = %v, want [1 2 4]", got)
	}
	if e := err.(*pipeline.PoisonError).Errs[1]; !strings.Contains(e.Error(), "count") {
		t.Errorf("error %q does not name the path", e)
	}
	published, requests, _ := f.fake.snapshot()
	want := []string{`{"key":"a","count":1}`, `{"key":"c","count":3}`, `{"key":"e","count":5}`}
	if !slices.Equal(published[testStream], want) {
		t.Errorf("published %v, want %v", published[testStream], want)
	}
	if len(requests) != 1 {
		t.Errorf("%d publish requests, want 1 (invalid messages never reach the server)", len(requests))
	}
	if got := testutil.ToFloat64(f.metrics.validationFailures.WithLabelValues("orders")); got != 3 {
		t.Errorf("validation_failures_total = %v, want 3", got)
	}
}

func TestStreamSeaWriteWithoutSchemaRejectsNonObjects(t *testing.T) {
	f := connectedSink(t, StreamSeaOptions{})
	err := f.sink.Write(testCtx(t), messages(`"text"`, ` {"ok":1}`, `null`, `{"a":`, `{}`))
	if got := poisonIndexes(t, err); !slices.Equal(got, []int{0, 2, 3}) {
		t.Fatalf("poison indexes = %v, want [0 2 3]", got)
	}
	published, _, _ := f.fake.snapshot()
	if want := []string{`{"ok":1}`, `{}`}; !slices.Equal(published[testStream], want) {
		t.Errorf("published %v, want %v", published[testStream], want)
	}
}

func TestStreamSeaWriteSplitsByMaxBatchBytes(t *testing.T) {
	const maxBytes = 350
	f := connectedSink(t, StreamSeaOptions{MaxBatchBytes: maxBytes})
	var values []string
	for i := range 10 {
		values = append(values, fmt.Sprintf(`{"i":%d,"pad":"%s"}`, i, strings.Repeat("p", 100-17)))
	}
	values = append(values, fmt.Sprintf(`{"big":"%s"}`, strings.Repeat("b", 500))) // larger than maxBytes
	values = append(values, values[0])
	if err := f.sink.Write(testCtx(t), messages(values...)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	published, requests, _ := f.fake.snapshot()
	if !slices.Equal(published[testStream], values) {
		t.Fatalf("published %d messages out of order or incomplete", len(published[testStream]))
	}
	// 14 bytes of envelope + 100 per message + 1 per comma: three fit in 350, a fourth does not.
	var counts []int
	for _, r := range requests {
		counts = append(counts, r.Count)
		if r.BodySize > maxBytes && r.Count > 1 {
			t.Errorf("a request of %d messages has %d bytes, more than %d", r.Count, r.BodySize, maxBytes)
		}
	}
	if want := []int{3, 3, 3, 1, 1, 1}; !slices.Equal(counts, want) {
		t.Errorf("messages per request = %v, want %v", counts, want)
	}
}

func TestStreamSeaWriteGroupsByTargetStream(t *testing.T) {
	f := connectedSink(t, StreamSeaOptions{})
	batch := messages(`{"n":0}`, `{"n":1}`, `{"n":2}`, `{"n":3}`, `{"n":4}`)
	batch[2].TargetStream = "other/stream"
	batch[3].TargetStream = "other/stream"
	if err := f.sink.Write(testCtx(t), batch); err != nil {
		t.Fatalf("Write: %v", err)
	}
	published, requests, _ := f.fake.snapshot()
	var order []string
	for _, r := range requests {
		order = append(order, fmt.Sprintf("%s:%d", r.Stream, r.Count))
	}
	if want := []string{"portCall:2", "other%2Fstream:2", "portCall:1"}; !slices.Equal(order, want) {
		t.Errorf("requests %v, want %v", order, want)
	}
	if want := []string{`{"n":2}`, `{"n":3}`}; !slices.Equal(published["other%2Fstream"], want) {
		t.Errorf("other stream got %v, want %v", published["other%2Fstream"], want)
	}
}

func TestStreamSeaWriteErrors(t *testing.T) {
	tests := []struct {
		name          string
		statuses      []int
		target        string // TargetStream of the messages
		wantRetriable bool
		wantFatal     bool
		wantNotConn   bool
		wantPoison    []int
		wantResult    string
	}{
		{name: "503", statuses: []int{503}, wantRetriable: true, wantResult: publishRetriableError},
		{name: "429", statuses: []int{429}, wantRetriable: true, wantResult: publishRetriableError},
		{name: "401", statuses: []int{401}, wantFatal: true, wantResult: publishFatalError},
		{name: "405", statuses: []int{405}, wantFatal: true, wantResult: publishFatalError},
		{name: "404 on the default stream", statuses: []int{404}, wantNotConn: true, wantResult: publishRetriableError},
		{name: "404 on a routed stream", statuses: []int{404}, target: "gone", wantPoison: []int{0, 1}, wantResult: publishRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := connectedSink(t, StreamSeaOptions{})
			f.fake.failPublishes(tt.statuses...)
			batch := messages(`{"a":1}`, `{"a":2}`)
			for _, m := range batch {
				m.TargetStream = tt.target
			}
			err := f.sink.Write(testCtx(t), batch)
			if err == nil {
				t.Fatal("Write succeeded")
			}
			if got := streamsea.IsRetriable(err); got != tt.wantRetriable {
				t.Errorf("IsRetriable(%v) = %v", err, got)
			}
			if got := errors.Is(err, pipeline.ErrFatal); got != tt.wantFatal {
				t.Errorf("Is(ErrFatal) = %v for %v", got, err)
			}
			if got := errors.Is(err, pipeline.ErrNotConnected); got != tt.wantNotConn {
				t.Errorf("Is(ErrNotConnected) = %v for %v", got, err)
			}
			if tt.wantPoison != nil {
				if got := poisonIndexes(t, err); !slices.Equal(got, tt.wantPoison) {
					t.Errorf("poison = %v, want %v", got, tt.wantPoison)
				}
			} else if _, ok := errors.AsType[*pipeline.PoisonError](err); ok {
				t.Errorf("Write = %v, want no poison", err)
			}
			if got := f.requestCount(tt.wantResult); got != 1 {
				t.Errorf("publish_requests_total{result=%q} = %v, want 1", tt.wantResult, got)
			}
		})
	}
}

// TestStreamSeaWriteRetryIsAtLeastOnce checks that a Write failing after a first group was
// accepted returns the retriable error, and that retrying it delivers everything.
func TestStreamSeaWriteRetryIsAtLeastOnce(t *testing.T) {
	f := connectedSink(t, StreamSeaOptions{})
	batch := messages(`{"n":0}`, `{"n":1}`)
	batch[1].TargetStream = "second"
	f.fake.failPublishes(200, 500)
	err := f.sink.Write(testCtx(t), batch)
	if !streamsea.IsRetriable(err) {
		t.Fatalf("Write = %v, want a retriable error", err)
	}
	if err := f.sink.Write(testCtx(t), batch); err != nil {
		t.Fatalf("retried Write: %v", err)
	}
	published, _, _ := f.fake.snapshot()
	// The first group was accepted by both attempts: the retry republishes it.
	if len(published["second"]) != 1 || len(published[testStream]) != 2 {
		t.Errorf("published %v, want the first group twice and the second once", published)
	}
}

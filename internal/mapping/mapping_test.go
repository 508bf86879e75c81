package mapping

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/pipeline"
)

var update = flag.Bool("update", false, "rewrite the expected outputs of the golden cases")

// goldenInput is testdata/<case>/input.json: one incoming message.
type goldenInput struct {
	Stream  string            `json:"stream"`
	Topic   string            `json:"topic"`
	Headers map[string]string `json:"headers"`
	Value   json.RawMessage   `json:"value"`
}

// goldenOutput is one element of testdata/<case>/expected.json.
type goldenOutput struct {
	Key          string            `json:"key,omitempty"`
	TargetTopic  string            `json:"targetTopic,omitempty"`
	TargetStream string            `json:"targetStream,omitempty"`
	Headers      map[string]string `json:"headers,omitempty"`
	Value        json.RawMessage   `json:"value"`
}

// TestGolden runs every case under testdata/: options.json (Options), input.json, and either
// expected.json (the outputs) or error.txt (a substring of the expected error).
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var opts Options
			readJSON(t, filepath.Join(dir, "options.json"), &opts)
			var in goldenInput
			readJSON(t, filepath.Join(dir, "input.json"), &in)
			msg := &pipeline.Message{Stream: in.Stream, Topic: in.Topic, Value: in.Value,
				ReceivedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
			for _, k := range sortedKeys(in.Headers) {
				msg.Headers = append(msg.Headers, pipeline.Header{Key: k, Value: []byte(in.Headers[k])})
			}
			m, err := New(opts)
			if err != nil {
				checkError(t, dir, err)
				return
			}
			outs, err := m.Map(context.Background(), msg)
			if err != nil {
				checkError(t, dir, err)
				return
			}
			if _, err := os.Stat(filepath.Join(dir, "error.txt")); err == nil {
				t.Fatalf("expected an error, got %d outputs", len(outs))
			}
			got := make([]goldenOutput, 0, len(outs))
			for _, o := range outs {
				g := goldenOutput{Key: string(o.Key), TargetTopic: o.TargetTopic, TargetStream: o.TargetStream, Value: o.Value}
				for _, h := range o.Headers {
					if g.Headers == nil {
						g.Headers = map[string]string{}
					}
					g.Headers[h.Key] = string(h.Value)
				}
				got = append(got, g)
			}
			gotJSON, _ := json.MarshalIndent(got, "", "  ")
			path := filepath.Join(dir, "expected.json")
			if *update {
				if err := os.WriteFile(path, append(gotJSON, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			var want []goldenOutput
			readJSON(t, path, &want)
			wantJSON, _ := json.MarshalIndent(want, "", "  ")
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("outputs differ\n got: %s\nwant: %s", gotJSON, wantJSON)
			}
		})
	}
}

func checkError(t *testing.T, dir string, err error) {
	t.Helper()
	want, rerr := os.ReadFile(filepath.Join(dir, "error.txt"))
	if rerr != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if !strings.Contains(err.Error(), strings.TrimSpace(string(want))) {
		t.Fatalf("error %q does not contain %q", err, strings.TrimSpace(string(want)))
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestIdentityPassesBytesThrough(t *testing.T) {
	m, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := &pipeline.Message{Value: []byte(`{"a": 1,   "b":2}`)}
	outs, err := m.Map(context.Background(), in)
	if err != nil || len(outs) != 1 || outs[0] != in {
		t.Fatalf("identity mapping must return the message itself: %v %v", outs, err)
	}
	if !m.Identity() {
		t.Fatal("zero Options must be the identity")
	}
}

func TestKeyOnlyDoesNotReencode(t *testing.T) {
	m, err := New(Options{Key: "/id"})
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte(`{"id": "v1",  "x": 1.50}`)
	outs, err := m.Map(context.Background(), &pipeline.Message{Value: payload})
	if err != nil {
		t.Fatal(err)
	}
	if string(outs[0].Value) != string(payload) || string(outs[0].Key) != "v1" {
		t.Fatalf("got key %q value %q", outs[0].Key, outs[0].Value)
	}
}

func TestNewReportsEveryBadSetting(t *testing.T) {
	_, err := New(Options{Key: "id", Topic: "a.{/x", JQ: ".[", FieldsToHeaders: map[string]string{"bad": "h"}})
	if err == nil {
		t.Fatal("expected errors")
	}
	for _, want := range []string{"key:", "topic:", "jq:", `fields_to_headers["bad"]:`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestStaticTopicMustBeValid(t *testing.T) {
	if _, err := New(Options{Topic: "bad topic"}); err == nil {
		t.Fatal("a static topic with a space must be rejected")
	}
}

func BenchmarkMapKeyAndTopic(b *testing.B) {
	m, err := New(Options{Key: "/vessel/imo", Topic: "port.{/site}"})
	if err != nil {
		b.Fatal(err)
	}
	in := &pipeline.Message{Value: []byte(`{"site":"aarhus","vessel":{"imo":"9321483","name":"EMMA"},"temperature":92.5,"pressure":3001,"readings":[1,2,3,4,5,6,7,8]}`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Map(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// lateDuration is a LogValuer that resolves to a duration.
type lateDuration time.Duration

func (d lateDuration) LogValue() slog.Value { return slog.DurationValue(time.Duration(d)) }

func TestLoggerWritesDurationsAsStrings(t *testing.T) {
	log := func(l *slog.Logger) {
		l.Info("bridge stopped", "after", 25083*time.Millisecond,
			slog.Group("retry", "delay", 1500*time.Microsecond), "late", lateDuration(2*time.Minute), "count", 3)
	}
	var j bytes.Buffer
	l, err := newLogger(&j, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	log(l)
	var rec struct {
		After string
		Retry struct{ Delay string }
		Late  string
		Count int
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(j.Bytes(), &raw); err != nil {
		t.Fatalf("json log %q: %v", j.String(), err)
	}
	for _, k := range []string{"time", "level", "msg"} {
		delete(raw, k)
	}
	b, _ := json.Marshal(raw)
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatalf("json log %q: %v", j.String(), err)
	}
	if rec.After != "25.083s" || rec.Retry.Delay != "1.5ms" || rec.Late != "2m0s" || rec.Count != 3 {
		t.Errorf("json log %q: after %q, retry.delay %q, late %q, count %d; want 25.083s, 1.5ms, 2m0s, 3",
			j.String(), rec.After, rec.Retry.Delay, rec.Late, rec.Count)
	}

	var txt bytes.Buffer
	if l, err = newLogger(&txt, "text", "info"); err != nil {
		t.Fatal(err)
	}
	log(l)
	for _, want := range []string{"after=25.083s", "retry.delay=1.5ms", "late=2m0s", "count=3"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("text log %q lacks %s", txt.String(), want)
		}
	}
}

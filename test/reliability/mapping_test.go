//go:build reliability

package reliability

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/testkit/reliability"
)

// Mapping edge cases, stream-sea → Kafka, each with every message checked at the far side:
// the mapping must either do what its config says to every message or be refused by
// validate; it must never crash the bridge or mangle data.

// mappingSetup is a short run: the point is the content of each message, not a fault.
func mappingSetup(name string, payload func(int) []byte, check reliability.Check) reliability.Setup {
	return reliability.Setup{Name: name, Direction: reliability.StreamseaToKafka, Payload: payload, Check: check,
		Rate: suite.Scale(1000, 500), Messages: suite.Scale(10000, 2000)}
}

// fields decodes a JSON object, or says why it is not one.
func fields(value []byte) (map[string]any, string) {
	var m map[string]any
	if err := json.Unmarshal(value, &m); err != nil {
		return nil, fmt.Sprintf("not a JSON object: %.120s", value)
	}
	return m, ""
}

// A TOML datetime and a jq program: the datetime must come out as a JSON string of the same
// instant (RFC 3339), and the bridge must not crash.
func TestMappingStaticDatetimeWithJq(t *testing.T) {
	at := time.Date(1979, 5, 27, 7, 32, 0, 0, time.UTC)
	staticWithJq(t, "mapping: TOML datetime in static, with jq", "{ at = 1979-05-27T07:32:00Z }", func(m map[string]any) bool {
		s, _ := m["at"].(string)
		got, err := time.Parse(time.RFC3339Nano, s)
		return err == nil && got.Equal(at)
	})
}

// A TOML integer and a nested table in static, with jq: they must come out as the JSON
// number 1 and the object {"a": 2}.
func TestMappingStaticIntegerWithJq(t *testing.T) {
	staticWithJq(t, "mapping: TOML integer and table in static, with jq", "{ n = 1, t = { a = 2 } }", func(m map[string]any) bool {
		tbl, _ := m["t"].(map[string]any)
		return m["n"] == float64(1) && tbl["a"] == float64(2) && len(tbl) == 1
	})
}

// staticWithJq runs a pipeline whose mapping adds static (TOML inline table text) and then
// applies the jq program ". + {mapped: true}"; ok checks the static fields of each message.
func staticWithJq(t *testing.T, name, static string, ok func(map[string]any) bool) {
	sc := suite.Begin(t, mappingSetup(name, reliability.DefaultPayload, func(seq int, value []byte) string {
		m, bad := fields(value)
		if bad != "" {
			return bad
		}
		if !ok(m) || m["mapped"] != true || m["seq"] != float64(seq) {
			return fmt.Sprintf("got %.200s", value)
		}
		return ""
	}))
	cfg := sc.Config()
	cfg.Raw = "[pipelines.mapping]\nstatic = " + static + "\njq = '. + {mapped: true}'"
	sc.StartBridge(cfg)
	sc.Publish()
	sc.Finish()
}

// mapping.include with JSON pointers: either validate refuses pointers, or every message comes
// out projected to exactly the pointed-to fields, nested as in the input.
func TestMappingIncludePointers(t *testing.T) {
	payload := func(seq int) []byte {
		return fmt.Appendf(nil, `{"seq":%d,"nested":{"a":%d,"b":"dropped"},"top":"dropped"}`, seq, seq)
	}
	sc := suite.Begin(t, mappingSetup("mapping: include with JSON pointers", payload, func(seq int, value []byte) string {
		return reliability.SameJSON(value, fmt.Appendf(nil, `{"seq":%d,"nested":{"a":%d}}`, seq, seq))
	}))
	cfg := sc.Config()
	cfg.Set("pipelines.0.mapping.include", []string{"/seq", "/nested/a"})
	runUnlessRefused(sc, cfg, "mapping.include", "JSON pointers in mapping.include")
}

// runUnlessRefused runs the scenario's traffic through cfg, unless validate refuses cfg with
// exit code 2 naming key (a refusal naming something else, or another code, fails).
func runUnlessRefused(sc *reliability.Scenario, cfg *reliability.Config, key, what string) {
	if code, stderr := reliability.Validate(sc.T, cfg); code != 0 {
		sc.Expect(code == 2 && strings.Contains(stderr, key),
			"validate refused %s with exit code %d without naming %s: %.300s", what, code, key, stderr)
		sc.Note("validate refuses %s (exit %d): %.200s", what, code, strings.TrimSpace(stderr))
		sc.Finish()
		return
	}
	sc.StartBridge(cfg)
	sc.Publish()
	sc.Finish()
}

// mapping.rename: a chain (a to b, b to c) and two fields renamed to one must be refused by
// validate; if the chain is accepted, the renames must be applied at once, the same way to
// every message ({a, b} becomes {b: a's value, c: b's value}).
func TestMappingRenames(t *testing.T) {
	payload := func(seq int) []byte { return fmt.Appendf(nil, `{"seq":%d,"a":"A%d","b":"B%d"}`, seq, seq, seq) }
	sc := suite.Begin(t, mappingSetup("mapping: renames (chain, collision)", payload, func(seq int, value []byte) string {
		return reliability.SameJSON(value, fmt.Appendf(nil, `{"seq":%d,"b":"A%d","c":"B%d"}`, seq, seq, seq))
	}))
	collide := sc.Config()
	collide.Set("pipelines.0.mapping.rename", map[string]any{"a": "x", "b": "x"})
	code, stderr := reliability.Validate(t, collide)
	sc.Expect(code == 2 && strings.Contains(stderr, "mapping.rename"),
		"validate accepted (or did not name) two fields renamed to one: exit %d %.200s", code, stderr)

	cfg := sc.Config()
	cfg.Set("pipelines.0.mapping.rename", map[string]any{"a": "b", "b": "c"})
	runUnlessRefused(sc, cfg, "mapping.rename", "a rename chain")
}

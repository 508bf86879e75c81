package mapping

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/itchyny/gojq"

	"github.com/seabridge/seabridge/internal/pipeline"
)

// noTimeout is a time limit that no case here reaches, so that the limit under test is the
// only one that can end the evaluation, however slow the machine.
const noTimeout = time.Hour

// mapWithin runs m.Map on payload and fails the test when it has not returned in a minute: a
// stall is a failure, not a hang of the test binary.
func mapWithin(t *testing.T, m *Mapper, payload string) ([]*pipeline.Message, error) {
	t.Helper()
	type result struct {
		outs []*pipeline.Message
		err  error
	}
	done := make(chan result, 1)
	go func() {
		outs, err := m.Map(context.Background(), &pipeline.Message{Value: []byte(payload)})
		done <- result{outs, err}
	}()
	select {
	case r := <-done:
		return r.outs, r.err
	case <-time.After(time.Minute):
		t.Fatalf("Map has not returned after a minute")
		return nil, nil
	}
}

// TestRunawayJQIsPoison: every way a jq expression can run forever or grow without end
// becomes an error naming the limit it broke (the message is poison), never a stall.
func TestRunawayJQIsPoison(t *testing.T) {
	const timeout = 20 * time.Millisecond // each of these runs forever: any limit is passed
	cases := []struct {
		name, jq string
		timeout  time.Duration
		maxBytes int
		want     string
	}{
		// Loops and recursions that produce nothing: only the time limit ends them.
		{"repeat collected", `[repeat(.)]`, timeout, 0, "took longer than jq_timeout (20ms)"},
		{"repeat discarded", `repeat(.) | empty`, timeout, 0, "jq_timeout"},
		{"huge range", `[range(1e18)]`, timeout, 0, "jq_timeout"},
		{"last of a huge range", `last(range(1e18))`, timeout, 0, "jq_timeout"},
		{"until", `0 | until(. < 0; . + 1)`, timeout, 0, "jq_timeout"},
		{"while", `while(true; .) | empty`, timeout, 0, "jq_timeout"},
		{"recurse", `[recurse(.)]`, timeout, 0, "jq_timeout"},
		{"limit of repeat", `[limit(1e9; repeat(1))] | length`, timeout, 0, "jq_timeout"},
		{"reduce", `reduce range(1e18) as $i (0; . + 1)`, timeout, 0, "jq_timeout"},
		{"foreach", `foreach range(1e18) as $i (0; . + 1; empty)`, timeout, 0, "jq_timeout"},
		{"tail recursion", `def f: f; f`, timeout, 0, "jq_timeout"},
		{"recursion growing the stack", `def f: 1 + f; f`, timeout, 0, "jq_timeout"},
		{"recursion building a value", `def f: [f]; f`, timeout, 0, "jq_timeout"},
		{"recursion with an argument", `def f(g): g | f(g); f(.)`, timeout, 0, "jq_timeout"},
		{"combinations", `[range(100) | [0, 1]] | [combinations] | length`, timeout, 0, "jq_timeout"},
		{"label", `label $out | repeat(.) | empty`, timeout, 0, "jq_timeout"},
		{"a caught error does not end it", `repeat(try error("x") catch empty)`, timeout, 0, "jq_timeout"},
		{"try does not catch the time limit", `try ([repeat(.)]) catch "caught"`, timeout, 0, "jq_timeout"},
		// Outputs: count, total size, nesting, integers.
		{"too many outputs", `range(200000)`, noTimeout, 0, "more than 100000 outputs"},
		{"infinite outputs", `repeat(1)`, noTimeout, 0, "more than 100000 outputs"},
		{"outputs too large together", `("x" * 40000), ("y" * 40000)`, noTimeout, 1 << 16, "outputs hold more than jq_max_bytes (65536 bytes)"},
		{"one output too large", `[range(30000)]`, noTimeout, 1 << 16, "outputs hold more than jq_max_bytes (65536 bytes)"},
		{"large object", `[range(10000) | {key: tostring, value: .}] | from_entries`, noTimeout, 1 << 16, "jq_max_bytes"},
		{"shared values counted each time", `reduce range(40) as $i ([1]; [., .])`, noTimeout, 1 << 16, "jq_max_bytes"},
		{"deep nesting", `reduce range(20000) as $i (null; [.])`, noTimeout, 0, "nested deeper than 10000 levels"},
		{"deep objects", `reduce range(20000) as $i (null; {a: .})`, noTimeout, 0, "nested deeper than 10000 levels"},
		{"huge integer", `reduce range(16) as $i (3; . * .)`, noTimeout, 0, "an integer of more than 10000 digits"},
		// A string repetition is refused before it is made.
		{"string repetition", `"x" * 2000000000 | length`, noTimeout, 0, "a string repetition would make 2000000000 bytes, more than jq_max_bytes (16777216 bytes)"},
		{"number times string", `1e9 * "abc" | length`, noTimeout, 0, "would make 3000000000 bytes"},
		{"repetition from the payload", `"-" * .n | length`, noTimeout, 0, "would make 2147483647 bytes"},
		{"repetition by *=", `.s = "ab" | .s *= 1e9 | .s | length`, noTimeout, 0, "would make 2000000000 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := New(Options{JQ: c.jq, JQTimeout: c.timeout, JQMaxBytes: c.maxBytes})
			if err != nil {
				t.Fatal(err)
			}
			outs, err := mapWithin(t, m, `{"n": 1e300, "a": 1}`)
			var limit *limitError
			if !errors.As(err, &limit) {
				t.Fatalf("got %d outputs and error %v, want a limit error", len(outs), err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to contain %q", err, c.want)
			}
		})
	}
}

// TestJQWithinLimitsIsUnchanged: evaluations that stay within the limits give what they gave
// before, up to the limits themselves.
func TestJQWithinLimitsIsUnchanged(t *testing.T) {
	m, err := New(Options{JQ: `range(100000) | {i: .}`, JQTimeout: noTimeout})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := mapWithin(t, m, `{}`)
	if err != nil || len(outs) != 100000 || string(outs[99999].Value) != `{"i":99999}` {
		t.Fatalf("100000 outputs are allowed: got %d, %v", len(outs), err)
	}
	m, err = New(Options{JQ: `"x" * 1048570, "y"`, JQMaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if outs, err = mapWithin(t, m, `{}`); err != nil || len(outs) != 2 || len(outs[0].Value) != 1048572 {
		t.Fatalf("outputs of exactly jq_max_bytes are allowed: %d outputs, %v", len(outs), err)
	}
	m, err = New(Options{JQ: `reduce range(9999) as $i (1; [.])`})
	if err != nil {
		t.Fatal(err)
	}
	if outs, err = mapWithin(t, m, `{}`); err != nil || len(outs[0].Value) != 9999*2+1 {
		t.Fatalf("nesting of 10000 levels is allowed: %v", err)
	}
}

// TestMultiplicationIsJQs: the guarded * and *= give exactly what gojq's own give, wherever
// they are written.
func TestMultiplicationIsJQs(t *testing.T) {
	exprs := []string{
		`2 * 3`, `.a * 2.5`, `9223372036854775807 * 3`, `-1 * 9223372036854775807`,
		`"ab" * 3`, `3 * "ab"`, `"ab" * 0`, `"ab" * -1`, `"ab" * 0.5`, `"ab" * 1.7`, `"ab" * .n`,
		`{"a": {"b": 1}} * {"a": {"c": 2}}`, `{} * 1`, `"a" * "b"`, `[1] * 2`, `null * 2`,
		`.a *= 2`, `.a *= (2, 3)`, `.[] *= 2`, `.s *= 2`, `.x *= 2`, `.o *= {"q": 1}`,
		`(1, 2) * (3, 4)`, `[.[] | numbers * 2]`, `{a: (.a * 2), ("k" * 2): 1}`, `"\(.a * 2)"`,
		`@base64 "\(.a * 2)"`, `if .a * 2 > 1 then .a * 3 else 0 end`, `try (.a * {}) catch .`,
		`reduce range(3) as $i (1; . * 2)`, `foreach range(3) as $i (1; . * 2; . * 10)`,
		`def f(x): x * 2; f(.a)`, `def f: . * 2; .a | f`, `label $l | .a * 2, break $l`,
		`.a as $x | $x * $x`, `. as [$x] ?// $x | $x.a * 2`, `[limit(2; .a * (1, 2, 3))]`,
		`.[.a * 0 | tostring]?`, `[range(5)] | .[1 * 1:2 * 2]`, `(.a * 2)?`, `.a * 2 // 0`,
		`.a * 2 | . * 2`, `-(.a * 2)`, `[.a * 2, .n * 2]`, `{a} * {b: 1}`,
	}
	input := map[string]any{"a": 3, "n": 2, "s": "xy", "o": map[string]any{"p": 1}}
	doc, _ := json.Marshal(input)
	for _, expr := range exprs {
		t.Run(expr, func(t *testing.T) {
			m, err := New(Options{JQ: expr})
			if err != nil {
				t.Fatal(err)
			}
			got, err := mapWithin(t, m, string(doc))
			var gotText []string
			for _, o := range got {
				gotText = append(gotText, string(o.Value))
			}
			want, wantErr := plainJQ(t, expr, input)
			if fmt.Sprint(err) != fmt.Sprint(wantErr) || strings.Join(gotText, " ") != strings.Join(want, " ") {
				t.Errorf("got %q (error %v)\nwant %q (error %v)", gotText, err, want, wantErr)
			}
		})
	}
}

// plainJQ evaluates expr with gojq alone, as the mapping did before * was guarded.
func plainJQ(t *testing.T, expr string, input any) ([]string, error) {
	t.Helper()
	q, err := gojq.Parse(expr)
	if err != nil {
		t.Fatal(err)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		t.Fatal(err)
	}
	var outs []string
	iter := code.Run(input)
	for {
		v, ok := iter.Next()
		if !ok {
			return outs, nil
		}
		if err, ok := v.(error); ok {
			return nil, errors.New("jq: " + err.Error())
		}
		b, _ := gojq.Marshal(v)
		outs = append(outs, string(b))
	}
}

func TestJQLimitsMustBePositive(t *testing.T) {
	_, err := New(Options{JQ: ".", JQTimeout: -time.Second, JQMaxBytes: -1})
	for _, want := range []string{"jq_timeout: must be a positive duration", "jq_max_bytes: must be positive"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to contain %q", err, want)
		}
	}
}

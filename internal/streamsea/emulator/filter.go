package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// filter is a compiled filter DSL expression (the JWT "filter" claim). It is immutable and may
// be evaluated concurrently.
type filter struct{ root filterNode }

// filterNode is one expression; eval returns a JSON value as decoded by encoding/json
// (nil, bool, float64, string, map[string]any, []any) or undefined.
type filterNode interface {
	eval(msg any, streamName string) (any, error)
}

// undefined is the value of a path that leads nowhere: falsy, equal only to itself.
type undefinedValue struct{}

var undefined = undefinedValue{}

var errFilterEval = errors.New("filter evaluation failed")

// compileFilter parses a filter expression of the form {"t": kind, "e": ...}.
func compileFilter(raw json.RawMessage) (*filter, error) {
	root, err := compileNode(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid filter: %w", err)
	}
	return &filter{root: root}, nil
}

// Match reports whether a decoded message passes the filter. An error means the expression
// could not be evaluated on this message; such a message is not forwarded.
func (f *filter) Match(msg any, streamName string) (bool, error) {
	v, err := f.root.eval(msg, streamName)
	if err != nil {
		return false, err
	}
	return truthy(v), nil
}

type rawExpr struct {
	T string          `json:"t"`
	E json.RawMessage `json:"e"`
}

func compileNode(raw json.RawMessage) (filterNode, error) {
	var x rawExpr
	if err := json.Unmarshal(raw, &x); err != nil {
		return nil, fmt.Errorf("expression %s: %w", raw, err)
	}
	switch x.T {
	case "string", "number", "bool":
		return compileLiteral(x)
	case "null":
		return literal{v: nil}, nil
	case "path":
		var s string
		if err := json.Unmarshal(x.E, &s); err != nil {
			return nil, fmt.Errorf("path: e must be a string")
		}
		return parsePath(s)
	case "meta":
		var s string
		if err := json.Unmarshal(x.E, &s); err != nil || s != "streamName" {
			return nil, fmt.Errorf("meta: e must be \"streamName\"")
		}
		return metaStreamName{}, nil
	case "eq", "and", "or", "not":
		return compileOperator(x)
	default:
		return nil, fmt.Errorf("unknown expression type %q", x.T)
	}
}

func compileLiteral(x rawExpr) (filterNode, error) {
	var v any
	if err := json.Unmarshal(x.E, &v); err != nil || x.E == nil {
		return nil, fmt.Errorf("%s: e is missing or invalid", x.T)
	}
	ok := false
	switch v.(type) {
	case string:
		ok = x.T == "string"
	case float64:
		ok = x.T == "number"
	case bool:
		ok = x.T == "bool"
	}
	if !ok {
		return nil, fmt.Errorf("%s: e must be a %s literal, got %s", x.T, x.T, x.E)
	}
	return literal{v: v}, nil
}

func compileOperator(x rawExpr) (filterNode, error) {
	var parts []json.RawMessage
	if err := json.Unmarshal(x.E, &parts); err != nil {
		if x.T != "not" {
			return nil, fmt.Errorf("%s: e must be a list of expressions", x.T)
		}
		parts = []json.RawMessage{x.E} // not takes one expression, bare or in a list
	}
	operands := make([]filterNode, len(parts))
	for i, p := range parts {
		n, err := compileNode(p)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", x.T, i, err)
		}
		operands[i] = n
	}
	switch {
	case x.T == "eq" && len(operands) != 2:
		return nil, fmt.Errorf("eq: needs exactly 2 operands, got %d", len(operands))
	case x.T == "not" && len(operands) != 1:
		return nil, fmt.Errorf("not: needs exactly 1 operand, got %d", len(operands))
	}
	return operator{kind: x.T, operands: operands}, nil
}

type literal struct{ v any }

func (l literal) eval(any, string) (any, error) { return l.v, nil }

type metaStreamName struct{}

func (metaStreamName) eval(_ any, streamName string) (any, error) { return streamName, nil }

type operator struct {
	kind     string
	operands []filterNode
}

func (o operator) eval(msg any, streamName string) (any, error) {
	switch o.kind {
	case "eq":
		a, err := o.operands[0].eval(msg, streamName)
		if err != nil {
			return nil, err
		}
		b, err := o.operands[1].eval(msg, streamName)
		if err != nil {
			return nil, err
		}
		return reflect.DeepEqual(a, b), nil
	case "not":
		v, err := o.operands[0].eval(msg, streamName)
		if err != nil {
			return nil, err
		}
		return !truthy(v), nil
	}
	all := o.kind == "and" // and: true unless one is falsy; or: false unless one is truthy
	for _, op := range o.operands {
		v, err := op.eval(msg, streamName)
		if err != nil {
			return nil, err
		}
		if truthy(v) != all {
			return !all, nil
		}
	}
	return all, nil
}

// truthy follows JavaScript: false, 0, NaN, "", null and undefined are falsy.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil, undefinedValue:
		return false
	case bool:
		return x
	case float64:
		return x != 0 && x == x
	case string:
		return x != ""
	default:
		return true
	}
}

// pathStep is one key (index < 0) or one array index.
type pathStep struct {
	key   string
	index int
}

type pathExpr struct {
	src   string
	steps []pathStep
}

// parsePath accepts `a.b[0].c`, optionally prefixed by `$` or `$.`; `$` alone is the message.
func parsePath(s string) (filterNode, error) {
	p := pathExpr{src: s}
	rest := strings.TrimPrefix(s, "$")
	rest = strings.TrimPrefix(rest, ".")
	if rest == "" && s == "" {
		return nil, fmt.Errorf("path: empty")
	}
	for rest != "" {
		if rest[0] == '[' {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("path %q: unclosed [", s)
			}
			i, err := strconv.Atoi(rest[1:end])
			if err != nil || i < 0 {
				return nil, fmt.Errorf("path %q: bad index %q", s, rest[1:end])
			}
			p.steps = append(p.steps, pathStep{index: i})
			rest = strings.TrimPrefix(rest[end+1:], ".")
			continue
		}
		end := strings.IndexAny(rest, ".[")
		if end < 0 {
			end = len(rest)
		}
		if end == 0 {
			return nil, fmt.Errorf("path %q: empty key", s)
		}
		p.steps = append(p.steps, pathStep{key: rest[:end], index: -1})
		rest = rest[end:]
		if strings.HasPrefix(rest, ".") {
			rest = rest[1:]
			if rest == "" {
				return nil, fmt.Errorf("path %q: trailing dot", s)
			}
		}
	}
	return p, nil
}

// eval walks the message: a missing key or index gives undefined; stepping into a value of
// the wrong kind (a key of an array, a key or index of a scalar) is an evaluation error.
func (p pathExpr) eval(msg any, _ string) (any, error) {
	cur := msg
	for _, st := range p.steps {
		switch c := cur.(type) {
		case undefinedValue:
			return undefined, nil
		case map[string]any:
			if st.index >= 0 {
				return nil, fmt.Errorf("%w: path %q: index into an object", errFilterEval, p.src)
			}
			v, ok := c[st.key]
			if !ok {
				return undefined, nil
			}
			cur = v
		case []any:
			if st.index < 0 {
				return nil, fmt.Errorf("%w: path %q: key %q of an array", errFilterEval, p.src, st.key)
			}
			if st.index >= len(c) {
				return undefined, nil
			}
			cur = c[st.index]
		default:
			return nil, fmt.Errorf("%w: path %q: step into a scalar", errFilterEval, p.src)
		}
	}
	return cur, nil
}

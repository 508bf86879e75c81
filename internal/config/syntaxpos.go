package config

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// tomlExpr is one top-level expression of a document: a key/value or a table header.
type tomlExpr struct {
	header    string // "[a.b]" or "[[a]]" for a header; "" for a key/value
	path      string // the dotted key or header path, table included: bridge.log_level
	scoped    string // path with the element of each array table: pipelines[2].name
	line, col int    // of the expression's first key; of the [ of a header
	lineStart int    // offset of the line the expression starts on
}

// locateSemanticError gives a position to what the TOML parser reports without one: a key
// defined twice, a table defined twice, a key used as both a table and a value. It is the
// first top-level expression of src whose prefix of the document fails to decode with msg
// (the decoder checks expressions in order, so the prefixes that fail are those that reach
// it). Nil when src does not split into expressions or no prefix fails so.
func locateSemanticError(src []byte, msg string) *SyntaxError {
	exprs := tomlExprs(src)
	fails := func(i int) bool {
		end := len(src)
		if i+1 < len(exprs) {
			end = exprs[i+1].lineStart
		}
		var doc map[string]any
		err := toml.Unmarshal(src[:end], &doc)
		return err != nil && err.Error() == msg
	}
	lo, hi := 0, len(exprs) // the first failing expression is in [lo, hi)
	for lo < hi {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo == len(exprs) || !fails(lo) {
		return nil
	}
	e := exprs[lo]
	se := &SyntaxError{Line: e.line, Column: e.col, Key: e.path, Msg: strings.TrimPrefix(msg, "toml: ")}
	if e.header != "" {
		se.Key = e.header
	}
	for _, prev := range exprs[:lo] {
		if prev.scoped == e.scoped && prev.header == e.header {
			se.Msg += "; first defined on line " + strconv.Itoa(prev.line)
			break
		}
	}
	return se
}

// tomlExprs lists the top-level expressions of src, up to the first that does not parse.
func tomlExprs(src []byte) []tomlExpr {
	var (
		p      unstable.Parser
		exprs  []tomlExpr
		table  []string           // the current table's path
		scoped string             // the current table's path with array elements
		elems  = map[string]int{} // element count of each array table, by scoped path
	)
	p.Reset(src)
	for p.NextExpression() {
		n := p.Expression()
		var parts []string
		var first *unstable.Node
		for it := n.Key(); it.Next(); {
			if first == nil {
				first = it.Node()
			}
			parts = append(parts, quoteKeyPart(string(it.Node().Data)))
		}
		if first == nil {
			continue
		}
		pos := p.Shape(first.Raw).Start
		e := tomlExpr{line: pos.Line, col: pos.Column,
			lineStart: bytes.LastIndexByte(src[:pos.Offset], '\n') + 1}
		switch n.Kind {
		case unstable.Table, unstable.ArrayTable:
			e.col = len(src[e.lineStart:pos.Offset]) - len(bytes.TrimLeft(src[e.lineStart:pos.Offset], " \t")) + 1 // at the [
			table, scoped = parts, scopedPath(parts, elems)
			e.path, e.scoped = strings.Join(parts, "."), scoped
			if n.Kind == unstable.ArrayTable {
				elems[scoped]++
				scoped += "[" + strconv.Itoa(elems[scoped]) + "]"
				e.header = "[[" + e.path + "]]"
			} else {
				e.header = "[" + e.path + "]"
			}
		default:
			e.path = strings.Join(append(append([]string{}, table...), parts...), ".")
			e.scoped = strings.Join(append([]string{scoped}, parts...), ".")
		}
		exprs = append(exprs, e)
	}
	return exprs
}

// scopedPath is the dotted path parts with the current element of each array table it
// passes through: [pipelines.source] in the second [[pipelines]] is pipelines[2].source.
func scopedPath(parts []string, elems map[string]int) string {
	var b strings.Builder
	for i, part := range parts {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(part)
		if n := elems[b.String()]; n > 0 && i < len(parts)-1 {
			b.WriteString("[" + strconv.Itoa(n) + "]")
		}
	}
	return b.String()
}

var bareKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// quoteKeyPart writes a key part as TOML does: bare when it may be, else quoted.
func quoteKeyPart(k string) string {
	if bareKey.MatchString(k) {
		return k
	}
	return strconv.Quote(k)
}

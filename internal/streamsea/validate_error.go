package streamsea

import (
	"strconv"
	"strings"
)

// MaxProblems is the most problems a ValidationError lists; further ones are only counted.
const MaxProblems = 20

// Problem is one reason a payload is invalid. Path locates the value, e.g. "moves[3].load";
// it is empty for the payload as a whole.
type Problem struct {
	Path    string
	Message string
}

func (p Problem) String() string {
	if p.Path == "" {
		return "payload: " + p.Message
	}
	return p.Path + ": " + p.Message
}

// ValidationError lists why a payload does not match its schema, in the order found: at most
// MaxProblems problems, with Omitted counting the rest.
type ValidationError struct {
	Problems []Problem
	Omitted  int
	syntax   bool // the payload is not well-formed JSON
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	if e.Omitted > 0 {
		b.WriteString("; and ")
		b.WriteString(strconv.Itoa(e.Omitted))
		b.WriteString(" more")
	}
	return b.String()
}

// pathSegment is one step of the path to the value being checked: the span of a key in the
// payload (index -1), or an array index.
type pathSegment struct {
	key   span
	index int
}

// pathStack is the path to the value being checked. The first segments live in a fixed
// array so that a walk allocates nothing unless it records a problem; a path string is built
// only then.
type pathStack struct {
	fixed [16]pathSegment
	more  []pathSegment
	n     int
}

func (p *pathStack) push(seg pathSegment) {
	if p.n < len(p.fixed) {
		p.fixed[p.n] = seg
	} else {
		p.more = append(p.more[:p.n-len(p.fixed)], seg)
	}
	p.n++
}

func (p *pathStack) pop() { p.n-- }

func (p *pathStack) at(k int) pathSegment {
	if k < len(p.fixed) {
		return p.fixed[k]
	}
	return p.more[k-len(p.fixed)]
}

// render writes the path, e.g. "moves[3].load", taking keys from payload, followed by
// ".field" when field is not empty. The empty path is the payload itself.
func (p *pathStack) render(payload []byte, field string) string {
	var b strings.Builder
	for k := range p.n {
		seg := p.at(k)
		if seg.index >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(seg.index))
			b.WriteByte(']')
			continue
		}
		if k > 0 {
			b.WriteByte('.')
		}
		b.Write(payload[seg.key.start:seg.key.end])
	}
	if field != "" {
		if p.n > 0 {
			b.WriteByte('.')
		}
		b.WriteString(field)
	}
	return b.String()
}

package streamsea

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Validator checks payloads against one schema. It is compiled once by NewValidator, is
// immutable afterwards and may be used by any number of goroutines at once.
//
// A payload is valid when all of the following hold (these are seabridge's rules; the
// stream-sea server's own rules are not public):
//   - the payload is exactly one well-formed JSON value (surrounding whitespace allowed,
//     nothing else after it), nested at most 10000 deep, and it is an object;
//   - every field of the schema is present, and no other key is (keys are matched exactly and
//     case-sensitively; a key that appears twice is rejected);
//   - null is accepted as the value of any field, at any level;
//   - string: a JSON string. float: any JSON number. integer: a JSON number with no
//     fractional part, within int64 (3, 3.0 and 1e3 pass; 3.5 fails). date: a string exactly
//     YYYY-MM-DDTHH:mm:ssZ naming a real UTC calendar time (upper-case T and Z, no fraction of
//     a second, no offset, seconds 00-59). enum: a string equal to one of the values.
//     object: a JSON object checked against the nested fields by these same rules;
//   - array<T>: a JSON array whose every element is a T as above; null elements are rejected.
//
// Strings are compared after decoding their escapes; bytes that are not valid UTF-8 are
// accepted inside strings, as encoding/json accepts them.
type Validator struct {
	root *objectRule
}

// valueKind is the element kind of a compiled field.
type valueKind uint8

const (
	kindString valueKind = iota
	kindFloat
	kindInteger
	kindDate
	kindEnum
	kindObject
)

// fieldRule is one compiled field.
type fieldRule struct {
	name  string
	plain bool      // name needs no escape in JSON: a key equal to it may be matched byte for byte
	key   memberKey // `"name":`, when plain
	kind  valueKind
	array bool
	wire  FieldType
	enum  map[string]struct{}
	enums string // the values, for messages
	obj   *objectRule
}

// objectRule is one compiled level of fields.
type objectRule struct {
	fields []fieldRule
	index  map[string]int
}

// NewValidator checks s and compiles it. The schema is not retained.
func NewValidator(s *Schema) (*Validator, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	return &Validator{root: compileObject(s.Fields)}, nil
}

func compileObject(fields []Field) *objectRule {
	o := &objectRule{fields: make([]fieldRule, len(fields)), index: make(map[string]int, len(fields))}
	for i, f := range fields {
		o.fields[i] = compileField(f)
		o.index[f.Name] = i
	}
	return o
}

func compileField(f Field) fieldRule {
	r := fieldRule{name: f.Name, plain: plainString(f.Name), wire: f.Type}
	if r.plain {
		r.key = newMemberKey(f.Name)
	}
	switch f.Type {
	case TypeString, TypeStringArray:
		r.kind = kindString
	case TypeFloat, TypeFloatArray:
		r.kind = kindFloat
	case TypeInteger, TypeIntegerArray:
		r.kind = kindInteger
	case TypeDate, TypeDateArray:
		r.kind = kindDate
	case TypeEnum:
		r.kind = kindEnum
		r.enum = make(map[string]struct{}, len(f.Enum))
		for _, v := range f.Enum {
			r.enum[v] = struct{}{}
		}
		r.enums = strings.Join(quoteAll(f.Enum), ", ")
	case TypeObject, TypeObjectArray:
		r.kind = kindObject
		r.obj = compileObject(f.Fields)
	}
	r.array = f.Type == TypeStringArray || f.Type == TypeFloatArray || f.Type == TypeIntegerArray ||
		f.Type == TypeDateArray || f.Type == TypeObjectArray
	return r
}

func quoteAll(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = strconv.Quote(v)
	}
	return out
}

// elementName names the kind of one element of a field, for messages.
func (r *fieldRule) elementName() string {
	switch r.kind {
	case kindString:
		return "string"
	case kindFloat:
		return "float"
	case kindInteger:
		return "integer"
	case kindDate:
		return "date"
	case kindEnum:
		return "enum"
	}
	return "object"
}

// Validate checks one payload in a single pass over its bytes. It returns nil when the
// payload is valid and a *ValidationError listing the problems otherwise. When the payload is
// not well-formed JSON the error holds that one problem only.
func (v *Validator) Validate(payload []byte) error {
	if v.root.quickValid(payload) {
		return nil
	}
	return v.walk(payload)
}

// walk validates payload with the full walk, which finds every problem.
func (v *Validator) walk(payload []byte) error {
	var w walk
	w.s.b = payload
	if w.s.peek() != '{' {
		w.mismatch("object", 0)
	} else {
		w.object(v.root, 1)
	}
	w.s.finish()
	if w.s.err != nil {
		return &ValidationError{Problems: []Problem{{Message: w.s.err.Error()}}, syntax: true}
	}
	if len(w.problems) > 0 {
		return &ValidationError{Problems: w.problems, Omitted: w.omitted}
	}
	return nil
}

// walk is the state of one Validate call.
type walk struct {
	s        jsonScanner
	path     pathStack
	problems []Problem
	omitted  int
}

// object checks an object at the current '{' against rule; depth counts the object.
func (w *walk) object(rule *objectRule, depth int) {
	if depth > maxJSONDepth {
		w.s.fail("nesting deeper than %d", maxJSONDepth)
		return
	}
	w.s.pos++
	var seen fieldSet
	seen.init(len(rule.fields))
	next := 0 // payloads usually list fields in schema order: try this one first
	for first := true; ; first = false {
		var i int
		var known bool
		key, ok := w.s.nextMemberNamed(first, rule.hint(next))
		if ok {
			i, known = next, true
		} else {
			var escaped bool
			if key, escaped, ok = w.s.nextMember(first); !ok {
				break
			}
			i, known = rule.lookup(w.s.b[key.start:key.end], escaped, next)
		}
		w.path.push(pathSegment{key: key, index: -1})
		next = i + 1
		switch {
		case !known:
			w.problem("unknown field")
			w.s.skipValue(depth)
		case seen.has(i):
			w.problem("duplicate field")
			w.s.skipValue(depth)
		default:
			seen.add(i)
			w.field(&rule.fields[i], depth)
		}
		w.path.pop()
	}
	if w.s.err != nil {
		return
	}
	for i := range rule.fields {
		if !seen.has(i) {
			w.fieldProblem(rule.fields[i].name, "missing field")
		}
	}
}

// hint returns the member key of field i when a key may be compared with it byte for byte,
// or nil.
func (o *objectRule) hint(i int) *memberKey {
	if i < len(o.fields) && o.fields[i].plain {
		return &o.fields[i].key
	}
	return nil
}

// plainString reports whether s is not empty and is written in JSON as it is, without
// escapes: no quote, backslash or control byte.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return s != ""
}

// linearLookupMax is the field count up to which lookup scans instead of hashing.
const linearLookupMax = 16

// lookup finds a key among the fields, decoding escapes first when there are any. hint is
// the index most likely to match; it may be out of range.
func (o *objectRule) lookup(key []byte, escaped bool, hint int) (int, bool) {
	if escaped {
		decoded, ok := unescape(key)
		if !ok {
			return 0, false
		}
		key = []byte(decoded)
	}
	if hint < len(o.fields) && o.fields[hint].name == string(key) {
		return hint, true
	}
	if len(o.fields) > linearLookupMax {
		i, found := o.index[string(key)]
		return i, found
	}
	for i := range o.fields {
		if o.fields[i].name == string(key) {
			return i, true
		}
	}
	return 0, false
}

// field checks the value of a present field; depth is that of the enclosing object.
func (w *walk) field(r *fieldRule, depth int) {
	switch c := w.s.peek(); {
	case c == 'n':
		w.s.scanLiteral("null")
	case !r.array:
		w.element(r, depth)
	case c != '[':
		w.mismatch(string(r.wire), depth)
	case depth+1 > maxJSONDepth:
		w.s.fail("nesting deeper than %d", maxJSONDepth)
	default:
		w.array(r, depth+1)
	}
}

// array checks the elements of an array at the current '['; depth counts the array.
func (w *walk) array(r *fieldRule, depth int) {
	w.s.pos++
	for i := 0; w.s.nextElement(i == 0); i++ {
		w.path.push(pathSegment{index: i})
		w.element(r, depth)
		w.path.pop()
	}
}

// element checks one value of the field's element kind; depth is that of its container.
func (w *walk) element(r *fieldRule, depth int) {
	c := w.s.peek()
	switch r.kind {
	case kindString:
		if c != '"' {
			w.mismatch("string", depth)
			return
		}
		w.s.scanString()
	case kindFloat, kindInteger:
		w.number(r, depth)
	case kindDate, kindEnum:
		w.text(r, depth)
	case kindObject:
		if c != '{' {
			w.mismatch("object", depth)
			return
		}
		w.object(r.obj, depth+1)
	}
}

func (w *walk) number(r *fieldRule, depth int) {
	c := w.s.peek()
	if c != '-' && !isDigit(c) {
		w.mismatch(r.elementName(), depth)
		return
	}
	sp, ok := w.s.scanNumber()
	if !ok || r.kind != kindInteger || smallInteger(w.s.b[sp.start:sp.end]) {
		return
	}
	switch _, class := wholeNumber(w.s.b[sp.start:sp.end]); class {
	case numberFraction:
		w.problem("expected integer, got " + excerpt(w.s.b[sp.start:sp.end]))
	case numberOutOfRange:
		w.problem("integer out of range: " + excerpt(w.s.b[sp.start:sp.end]))
	}
}

// text checks a date or enum string.
func (w *walk) text(r *fieldRule, depth int) {
	if w.s.peek() != '"' {
		w.mismatch(r.elementName(), depth)
		return
	}
	sp, escaped, ok := w.s.scanString()
	if !ok {
		return
	}
	raw := w.s.b[sp.start:sp.end]
	if r.kind == kindDate {
		if !validDate(raw) && !(escaped && validUnescapedDate(raw)) {
			w.problem("not a date of the form YYYY-MM-DDTHH:mm:ssZ: " + excerpt(w.s.b[sp.start-1:sp.end+1]))
		}
		return
	}
	if !r.hasEnumValue(raw, escaped) {
		w.problem(excerpt(w.s.b[sp.start-1:sp.end+1]) + " is not one of " + r.enums)
	}
}

func (r *fieldRule) hasEnumValue(raw []byte, escaped bool) bool {
	if escaped {
		decoded, ok := unescape(raw)
		_, found := r.enum[decoded]
		return ok && found
	}
	_, found := r.enum[string(raw)]
	return found
}

func validUnescapedDate(raw []byte) bool {
	decoded, ok := unescape(raw)
	return ok && validDate([]byte(decoded))
}

// mismatch records that the value at the current position is not of the wanted kind and
// skips it; depth is that of the value's container.
func (w *walk) mismatch(want string, depth int) {
	got := w.s.kindAt()
	if got == "invalid JSON" {
		w.s.skipValue(depth) // records the syntax error
		return
	}
	w.problem("expected " + want + ", got " + got)
	w.s.skipValue(depth)
}

// problem records one problem at the current path.
func (w *walk) problem(msg string) { w.fieldProblem("", msg) }

// fieldProblem records one problem at the current path extended by field (if not empty),
// counting it only once the list is full.
func (w *walk) fieldProblem(field, msg string) {
	if len(w.problems) >= MaxProblems {
		w.omitted++
		return
	}
	w.problems = append(w.problems, Problem{Path: w.path.render(w.s.b, field), Message: msg})
}

// unescape decodes the contents of a well-formed JSON string that has escapes.
func unescape(raw []byte) (string, bool) {
	quoted := make([]byte, 0, len(raw)+2)
	quoted = append(append(append(quoted, '"'), raw...), '"')
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return "", false
	}
	return s, true
}

// excerpt returns a token as it appears in the payload, cut to 64 bytes, for messages.
func excerpt(b []byte) string {
	const limit = 64
	if len(b) > limit {
		return string(b[:limit]) + "..."
	}
	return string(b)
}

// fieldSet records which fields of an object were seen, without allocating for up to 64.
type fieldSet struct {
	small uint64
	large []bool
}

func (f *fieldSet) init(n int) {
	if n > 64 {
		f.large = make([]bool, n)
	}
}

func (f *fieldSet) has(i int) bool {
	if f.large != nil {
		return f.large[i]
	}
	return f.small&(1<<uint(i)) != 0
}

func (f *fieldSet) add(i int) {
	if f.large != nil {
		f.large[i] = true
		return
	}
	f.small |= 1 << uint(i)
}

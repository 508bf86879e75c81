package streamsea

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// maxJSONDepth is the deepest nesting of arrays and objects the scanner accepts. It equals
// encoding/json's limit, so that the scanner and json.Valid agree on every input.
const maxJSONDepth = 10000

// span is the half-open byte range [start, end) of a token inside the scanned text.
type span struct{ start, end int }

// jsonScanner walks one JSON text in place, without allocating on well-formed input. Methods
// that can fail record the first syntax error in err and report false; once err is set every
// later call fails too, so callers may check err once at the end of a loop.
type jsonScanner struct {
	b   []byte
	pos int
	err error
}

func (s *jsonScanner) fail(format string, args ...any) bool {
	if s.err == nil {
		s.err = fmt.Errorf("invalid JSON at offset %d: %s", s.pos, fmt.Sprintf(format, args...))
	}
	return false
}

func (s *jsonScanner) skipSpace() {
	if s.pos < len(s.b) && s.b[s.pos] > ' ' {
		return
	}
	for s.pos < len(s.b) {
		switch s.b[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek skips whitespace and returns the next byte, or 0 at the end of the input.
func (s *jsonScanner) peek() byte {
	s.skipSpace()
	if s.pos < len(s.b) {
		return s.b[s.pos]
	}
	return 0
}

// expect skips whitespace and consumes c.
func (s *jsonScanner) expect(c byte) bool {
	if s.err != nil {
		return false
	}
	if s.peek() != c {
		return s.unexpected(fmt.Sprintf("%q", c))
	}
	s.pos++
	return true
}

func (s *jsonScanner) unexpected(want string) bool {
	if s.pos >= len(s.b) {
		return s.fail("unexpected end of input, want %s", want)
	}
	return s.fail("unexpected %q, want %s", s.b[s.pos], want)
}

// finish checks that only whitespace follows the value just scanned.
func (s *jsonScanner) finish() bool {
	if s.err != nil {
		return false
	}
	s.skipSpace()
	if s.pos != len(s.b) {
		return s.fail("unexpected %q after the top-level value", s.b[s.pos])
	}
	return true
}

// scanString consumes a string starting at the current '"' and returns the span of its
// contents (without quotes) and whether it contains any escape sequence.
func (s *jsonScanner) scanString() (sp span, escaped bool, ok bool) {
	b, i := s.b, s.pos
	if s.err != nil || i >= len(b) || b[i] != '"' {
		return span{}, false, s.unexpected("string")
	}
	i++
	sp.start = i
	for i < len(b) {
		i = skipPlainString(b, i)
		if i >= len(b) {
			break
		}
		c := b[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		s.pos = i
		switch {
		case c == '"':
			s.pos = i + 1
			sp.end = i
			return sp, escaped, true
		case c == '\\':
			escaped = true
			if !s.scanEscape() {
				return span{}, false, false
			}
			i = s.pos
		default:
			return span{}, false, s.fail("control character %q in string", c)
		}
	}
	s.pos = i
	return span{}, false, s.fail("unterminated string")
}

// skipPlainString returns the index of the first byte at or after i that is a quote, a
// backslash or a control byte, or len(b). It tests eight bytes at a time.
func skipPlainString(b []byte, i int) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for ; i+8 <= len(b); i += 8 {
		v := binary.LittleEndian.Uint64(b[i:])
		quote := v ^ (ones * '"')
		backslash := v ^ (ones * '\\')
		// The high bit of each byte that is below 0x20, a quote or a backslash; a borrow can
		// only set bits above the lowest such byte, so the lowest set bit is exact.
		special := ((v - ones*0x20) | (quote - ones) | (backslash - ones)) &^ v & highs
		if special != 0 {
			return i + bits.TrailingZeros64(special)/8
		}
	}
	for i < len(b) && b[i] >= 0x20 && b[i] != '"' && b[i] != '\\' {
		i++
	}
	return i
}

// scanEscape consumes one escape sequence starting at the current '\\'.
func (s *jsonScanner) scanEscape() bool {
	s.pos++
	if s.pos >= len(s.b) {
		return s.fail("unterminated string")
	}
	switch s.b[s.pos] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.pos++
		return true
	case 'u':
		s.pos++
		for range 4 {
			if s.pos >= len(s.b) || !isHex(s.b[s.pos]) {
				return s.unexpected("hex digit in \\u escape")
			}
			s.pos++
		}
		return true
	}
	return s.fail("invalid escape %q", s.b[s.pos])
}

// scanNumber consumes a number and returns its span.
func (s *jsonScanner) scanNumber() (span, bool) {
	if s.err != nil {
		return span{}, false
	}
	start := s.pos
	end, ok := numberAt(s.b, start)
	s.pos = end
	if !ok {
		return span{}, s.unexpected("digit")
	}
	return span{start, end}, true
}

// numberAt returns the index after the JSON number that starts at b[i], or, when there is
// none, false and the index of the first byte that is not what the grammar wants there.
func numberAt(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = skipDigitsAt(b, i+1)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		if i++; i >= len(b) || !isDigit(b[i]) {
			return i, false
		}
		i = skipDigitsAt(b, i+1)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return i, false
		}
		i = skipDigitsAt(b, i+1)
	}
	return i, true
}

// skipDigitsAt returns the index of the first byte at or after i that is not a digit, or
// len(b). It tests eight bytes at a time.
func skipDigitsAt(b []byte, i int) int {
	const highs = 0x8080808080808080
	for ; i+8 <= len(b); i += 8 {
		v := binary.LittleEndian.Uint64(b[i:])
		// The high bit of each byte above '9' (adding 0x46 reaches 0x80), below '0' (a borrow)
		// or at or above 0x80. Digits make neither carries nor borrows, so the lowest set bit
		// is the first byte that is not a digit.
		other := ((v + 0x4646464646464646) | (v - 0x3030303030303030) | v) & highs
		if other != 0 {
			return i + bits.TrailingZeros64(other)/8
		}
	}
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

// scanLiteral consumes the literal lit (true, false or null).
func (s *jsonScanner) scanLiteral(lit string) bool {
	if s.err != nil {
		return false
	}
	if len(s.b)-s.pos < len(lit) || string(s.b[s.pos:s.pos+len(lit)]) != lit {
		return s.fail("invalid literal, want %s", lit)
	}
	s.pos += len(lit)
	return true
}

// nextMember moves to the next member of an object whose '{' was consumed. first is true
// for the first call after '{'. It returns the key's span, positioned at the member's
// value, or ok == false at the closing '}' (consumed) or on a syntax error (err set).
func (s *jsonScanner) nextMember(first bool) (key span, escaped bool, ok bool) {
	if s.err != nil {
		return span{}, false, false
	}
	c := s.peek()
	switch {
	case c == '}':
		s.pos++
		return span{}, false, false
	case !first && c == ',':
		s.pos++
		s.skipSpace()
	case !first:
		return span{}, false, s.unexpected("',' or '}'")
	}
	key, escaped, ok = s.scanString()
	if !ok || !s.expect(':') {
		return span{}, false, false
	}
	s.skipSpace()
	return key, escaped, true
}

// memberKey is a member's key as compact JSON writes it, `"name":`, for nextMemberNamed, with
// its bytes as little-endian words so that most comparisons are one or two word compares.
type memberKey struct {
	text string
	// head is the first 8 bytes of text (zero-padded when shorter), masked by headMask; tail
	// is its last 8 bytes when it has 9 to 16.
	head, headMask, tail uint64
}

func newMemberKey(name string) memberKey {
	k := memberKey{text: `"` + name + `":`}
	var buf [8]byte
	n := copy(buf[:], k.text)
	k.head = binary.LittleEndian.Uint64(buf[:])
	k.headMask = ^uint64(0) >> (64 - 8*n)
	if len(k.text) > 8 && len(k.text) <= 16 {
		k.tail = binary.LittleEndian.Uint64([]byte(k.text[len(k.text)-8:]))
	}
	return k
}

// matches reports whether b starts with the key.
func (k *memberKey) matches(b []byte) bool {
	n := len(k.text)
	switch {
	case len(b) < n:
		return false
	case len(b) < 8: // too short for a word load; rare: the end of the payload
		return string(b[:n]) == k.text
	case binary.LittleEndian.Uint64(b)&k.headMask != k.head:
		return false
	case n <= 8:
		return true
	case n <= 16:
		return binary.LittleEndian.Uint64(b[n-8:]) == k.tail
	}
	return string(b[8:n]) == k.text[8:]
}

// nextMemberNamed is nextMember for the common case of a member written as compact JSON does,
// `"name":`, with the key exactly key's name, unescaped: it moves to the member's value and
// returns the key's span. On anything else (another key, an escape, whitespace before the
// colon, the end of the object, a syntax error, a nil key) it reports false and leaves the
// position unchanged, for nextMember to take over. What it accepts, nextMember would accept
// the same way.
func (s *jsonScanner) nextMemberNamed(first bool, key *memberKey) (span, bool) {
	b, i := s.b, s.pos
	if s.err != nil || key == nil {
		return span{}, false
	}
	i = skipSpaceAt(b, i)
	if !first {
		if i >= len(b) || b[i] != ',' {
			return span{}, false
		}
		i = skipSpaceAt(b, i+1)
	}
	if i >= len(b) || !key.matches(b[i:]) {
		return span{}, false
	}
	end := i + len(key.text)
	s.pos = skipSpaceAt(b, end)
	return span{i + 1, end - 2}, true
}

// skipSpaceAt returns the index of the first byte at or after i that is not JSON
// whitespace, or len(b).
func skipSpaceAt(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// nextElement moves to the next element of an array whose '[' was consumed. first is true
// for the first call after '['. It reports true positioned at the element, or false at
// the closing ']' (consumed) or on a syntax error (err set).
func (s *jsonScanner) nextElement(first bool) bool {
	if s.err != nil {
		return false
	}
	c := s.peek()
	switch {
	case c == ']':
		s.pos++
		return false
	case !first && c == ',':
		s.pos++
		s.skipSpace()
	case !first:
		return s.unexpected("',' or ']'")
	}
	return true
}

// skipValue consumes one value of any kind, checking that it is well formed. depth is the
// nesting depth of the value's container (0 at the top level). quickSkip decides the common
// case; what it leaves is scanned by skipValueSlow, which records the syntax error.
func (s *jsonScanner) skipValue(depth int) bool {
	if s.err != nil {
		return false
	}
	if end, ok := quickSkip(s.b, s.pos, maxJSONDepth-depth); ok {
		s.pos = end
		return true
	}
	return s.skipValueSlow(depth)
}

// skipValueSlow is skipValue token by token; the values inside are scanned the same way, so
// that a malformed value is scanned at most twice in all.
func (s *jsonScanner) skipValueSlow(depth int) bool {
	if s.err != nil {
		return false
	}
	switch s.peek() {
	case '{':
		return s.skipObject(depth + 1)
	case '[':
		return s.skipArray(depth + 1)
	case '"':
		_, _, ok := s.scanString()
		return ok
	case 't':
		return s.scanLiteral("true")
	case 'f':
		return s.scanLiteral("false")
	case 'n':
		return s.scanLiteral("null")
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		_, ok := s.scanNumber()
		return ok
	}
	return s.unexpected("a value")
}

// skipObject consumes an object at the current '{'; depth counts the object itself.
func (s *jsonScanner) skipObject(depth int) bool {
	if depth > maxJSONDepth {
		return s.fail("nesting deeper than %d", maxJSONDepth)
	}
	s.pos++
	for first := true; ; first = false {
		if _, _, ok := s.nextMember(first); !ok {
			return s.err == nil
		}
		if !s.skipValueSlow(depth) {
			return false
		}
	}
}

// skipArray consumes an array at the current '['; depth counts the array itself.
func (s *jsonScanner) skipArray(depth int) bool {
	if depth > maxJSONDepth {
		return s.fail("nesting deeper than %d", maxJSONDepth)
	}
	s.pos++
	for first := true; s.nextElement(first); first = false {
		if !s.skipValueSlow(depth) {
			return false
		}
	}
	return s.err == nil
}

// kindAt names the kind of the value starting at the current position, for messages.
func (s *jsonScanner) kindAt() string {
	switch s.peek() {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "number"
	}
	return "invalid JSON"
}

// wellFormed reports whether b is exactly one well-formed JSON value, with optional
// surrounding whitespace. It agrees with encoding/json.Valid.
func wellFormed(b []byte) bool {
	s := jsonScanner{b: b}
	return s.skipValue(0) && s.finish()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

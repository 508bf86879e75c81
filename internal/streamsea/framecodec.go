package streamsea

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// ErrProtocol matches (errors.Is) every *ProtocolError.
var ErrProtocol = errors.New("stream-sea protocol error")

// maxProtocolErrorFrame is how much of an offending frame a ProtocolError keeps.
const maxProtocolErrorFrame = 200

// ProtocolError is a frame or payload that breaks the stream-sea protocol. Frame holds a copy
// of at most the first 200 bytes of the offending input.
type ProtocolError struct {
	Reason string
	Frame  []byte
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("%s: %s in %q", ErrProtocol, e.Reason, e.Frame)
}

// Unwrap makes errors.Is(err, ErrProtocol) true.
func (e *ProtocolError) Unwrap() error { return ErrProtocol }

func newProtocolError(reason string, frame []byte) *ProtocolError {
	n := min(len(frame), maxProtocolErrorFrame)
	return &ProtocolError{Reason: reason, Frame: append([]byte(nil), frame[:n]...)}
}

// DecodeFrame decodes one websocket frame. Payload is a sub-slice of b (its inside is checked
// for well-formedness only), so b must not be modified while the frame is in use; all other
// fields are copies. Keys are matched exactly; unknown keys are ignored; when a key appears
// twice the last one wins. The frame must be a JSON object with a non-negative integer id and
// a non-empty string action; success must be a boolean, streamName and groupId strings, error
// an object whose message is a string (each may also be null, meaning absent). Anything else
// returns a *ProtocolError.
func DecodeFrame(b []byte) (Frame, error) {
	var f Frame
	s := jsonScanner{b: b}
	if s.peek() != '{' {
		if s.pos >= len(b) {
			return Frame{}, newProtocolError("empty frame", b)
		}
		return Frame{}, newProtocolError("frame is not a JSON object", b)
	}
	s.pos++
	var seen frameKeys
	for first := true; ; first = false {
		key, escaped, ok := s.nextMember(first)
		if !ok {
			break
		}
		k := frameKey(b[key.start:key.end], escaped)
		seen |= k
		if reason := decodeMember(&s, &f, k); reason != "" {
			return Frame{}, newProtocolError(reason, b)
		}
	}
	if !s.finish() {
		return Frame{}, newProtocolError(s.err.Error(), b)
	}
	switch {
	case seen&keyID == 0:
		return Frame{}, newProtocolError("missing id", b)
	case seen&keyAction == 0:
		return Frame{}, newProtocolError("missing action", b)
	}
	return f, nil
}

// frameKeys is a set of the keys DecodeFrame knows.
type frameKeys uint8

const (
	keyID frameKeys = 1 << iota
	keyAction
	keySuccess
	keyStreamName
	keyGroupID
	keyPayload
	keyError
	keyOther frameKeys = 0
)

func frameKey(raw []byte, escaped bool) frameKeys {
	if escaped {
		decoded, _ := unescape(raw)
		raw = []byte(decoded)
	}
	switch string(raw) {
	case "id":
		return keyID
	case "action":
		return keyAction
	case "success":
		return keySuccess
	case "streamName":
		return keyStreamName
	case "groupId":
		return keyGroupID
	case "payload":
		return keyPayload
	case "error":
		return keyError
	}
	return keyOther
}

// decodeMember decodes the value of key k into f. It returns why the value is unusable, or "".
func decodeMember(s *jsonScanner, f *Frame, k frameKeys) string {
	var ok bool
	switch k {
	case keyID:
		f.ID, ok = decodeID(s)
		return reasonIf(!ok, s, "invalid id: want a whole number 0..2^64-1")
	case keyAction:
		f.Action, ok = decodeString(s)
		return reasonIf(!ok || f.Action == "", s, "invalid action: want a non-empty string")
	case keySuccess:
		f.Success, ok = decodeBool(s)
		return reasonIf(!ok, s, "invalid success: want a boolean")
	case keyStreamName:
		f.StreamName, ok = decodeOptionalString(s)
		return reasonIf(!ok, s, "invalid streamName: want a string")
	case keyGroupID:
		f.GroupID, ok = decodeOptionalString(s)
		return reasonIf(!ok, s, "invalid groupId: want a string")
	case keyPayload:
		start := s.pos
		ok = s.skipValue(1)
		f.Payload = s.b[start:s.pos:s.pos]
		return reasonIf(!ok, s, "")
	case keyError:
		f.Error, ok = decodeFrameError(s)
		return reasonIf(!ok, s, "invalid error: want an object with a string message")
	}
	return reasonIf(!s.skipValue(1), s, "")
}

// reasonIf returns "" when bad is false, else the syntax error if there is one, else reason.
func reasonIf(bad bool, s *jsonScanner, reason string) string {
	switch {
	case !bad:
		return ""
	case s.err != nil:
		return s.err.Error()
	}
	return reason
}

// decodeID decodes a JSON number made of digits only, as encoding/json does for uint64.
func decodeID(s *jsonScanner) (uint64, bool) {
	if c := s.peek(); !isDigit(c) {
		return 0, false
	}
	sp, ok := s.scanNumber()
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseUint(string(s.b[sp.start:sp.end]), 10, 64)
	return id, err == nil
}

func decodeBool(s *jsonScanner) (*bool, bool) {
	switch s.peek() {
	case 't':
		v := true
		return &v, s.scanLiteral("true")
	case 'f':
		v := false
		return &v, s.scanLiteral("false")
	case 'n':
		return nil, s.scanLiteral("null")
	}
	return nil, false
}

func decodeOptionalString(s *jsonScanner) (string, bool) {
	if s.peek() == 'n' {
		return "", s.scanLiteral("null")
	}
	return decodeString(s)
}

// decodeString decodes a string the way encoding/json does (escapes decoded, invalid UTF-8
// replaced by U+FFFD). Well-known actions are returned without allocating.
func decodeString(s *jsonScanner) (string, bool) {
	if s.peek() != '"' {
		return "", false
	}
	sp, escaped, ok := s.scanString()
	if !ok {
		return "", false
	}
	raw := s.b[sp.start:sp.end]
	if escaped || !utf8.Valid(raw) {
		return unescape(raw)
	}
	switch string(raw) {
	case ActionSubscription:
		return ActionSubscription, true
	case ActionSubscribe:
		return ActionSubscribe, true
	case ActionAuthenticate:
		return ActionAuthenticate, true
	}
	return string(raw), true
}

// decodeFrameError decodes an error object; keys other than message are ignored.
func decodeFrameError(s *jsonScanner) (*FrameError, bool) {
	switch s.peek() {
	case 'n':
		return nil, s.scanLiteral("null")
	case '{':
	default:
		return nil, false
	}
	s.pos++
	fe := &FrameError{}
	for first := true; ; first = false {
		key, escaped, ok := s.nextMember(first)
		if !ok {
			return fe, s.err == nil
		}
		if name, _ := keyName(s.b[key.start:key.end], escaped); name != "message" {
			if !s.skipValue(2) {
				return nil, false
			}
			continue
		}
		if fe.Message, ok = decodeOptionalString(s); !ok {
			return nil, false
		}
	}
}

func keyName(raw []byte, escaped bool) (string, bool) {
	if escaped {
		return unescape(raw)
	}
	return string(raw), true
}

// SplitPayload splits a delivery payload. An object (surrounding whitespace removed) is
// returned alone; an array yields its elements' bytes in order, as sub-slices of p, whatever
// their kind (an empty array yields none). Anything else, or malformed JSON, returns a
// *ProtocolError.
func SplitPayload(p []byte) ([][]byte, error) {
	s := jsonScanner{b: p}
	switch s.peek() {
	case '{':
		start := s.pos
		if !s.skipValue(0) || !s.finish() {
			return nil, newProtocolError("malformed payload: "+s.err.Error(), p)
		}
		end := s.end()
		return [][]byte{p[start:end:end]}, nil
	case '[':
		return splitArray(&s)
	}
	return nil, newProtocolError("payload is neither an object nor an array", p)
}

func splitArray(s *jsonScanner) ([][]byte, error) {
	var out [][]byte
	s.pos++
	for first := true; s.nextElement(first); first = false {
		start := s.pos
		if !s.skipValue(1) {
			break
		}
		out = append(out, s.b[start:s.pos:s.pos])
	}
	if !s.finish() {
		return nil, newProtocolError("malformed payload: "+s.err.Error(), s.b)
	}
	return out, nil
}

// end returns the position just after the last non-whitespace byte of the input.
func (s *jsonScanner) end() int {
	n := len(s.b)
	for n > 0 && (s.b[n-1] == ' ' || s.b[n-1] == '\t' || s.b[n-1] == '\n' || s.b[n-1] == '\r') {
		n--
	}
	return n
}

// ValidUUID reports whether s is a UUID in the RFC 4122 8-4-4-4-12 hexadecimal form, in any
// case. Braced and urn:uuid: forms are rejected; version and variant bits are not checked.
func ValidUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i]) {
				return false
			}
		}
	}
	return true
}

package streamsea

import (
	"strconv"
	"unicode/utf8"
)

// AppendFrame appends f encoded as JSON to dst and returns the extended buffer. The bytes are
// exactly those json.Marshal produces for f: keys in field order, empty optional fields left
// out, strings escaped as encoding/json does (HTML-safe), Payload compacted and HTML-escaped.
// Payload must be well-formed JSON (DecodeFrame only yields such payloads); a malformed one
// is written unchanged, which yields a frame DecodeFrame rejects.
func AppendFrame(dst []byte, f *Frame) []byte {
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendUint(dst, f.ID, 10)
	dst = append(dst, `,"action":`...)
	dst = appendJSONString(dst, f.Action)
	if f.Success != nil {
		dst = append(dst, `,"success":`...)
		dst = strconv.AppendBool(dst, *f.Success)
	}
	if f.StreamName != "" {
		dst = append(dst, `,"streamName":`...)
		dst = appendJSONString(dst, f.StreamName)
	}
	if f.GroupID != "" {
		dst = append(dst, `,"groupId":`...)
		dst = appendJSONString(dst, f.GroupID)
	}
	if len(f.Payload) > 0 {
		dst = append(dst, `,"payload":`...)
		dst = appendCompactJSON(dst, f.Payload)
	}
	if f.Error != nil {
		dst = append(dst, `,"error":{"message":`...)
		dst = appendJSONString(dst, f.Error.Message)
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaped exactly as encoding/json escapes it
// with HTML escaping on: \" \\ \b \f \n \r \t, other control bytes and < > & as \u00XX,
// U+2028 and U+2029 as \u2028 and \u2029, and invalid UTF-8 bytes as \ufffd.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = appendEscapedByte(append(dst, s[start:i]...), c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(append(dst, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(append(dst, s[start:i]...), '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func appendEscapedByte(dst []byte, c byte) []byte {
	switch c {
	case '\\', '"':
		return append(dst, '\\', c)
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
}

// appendCompactJSON appends the well-formed JSON p without insignificant whitespace, with
// < > & and U+2028/U+2029 inside strings escaped, as json.Marshal writes a json.RawMessage.
// Malformed input is appended unchanged.
func appendCompactJSON(dst, p []byte) []byte {
	if !wellFormed(p) {
		return append(dst, p...)
	}
	start := 0
	inString := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		var repl []byte
		skip := 1
		switch {
		case !inString && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
		case c == '"':
			inString = !inString
			continue
		case !inString:
			continue
		case c == '\\':
			i++ // the escaped byte is copied as is
			continue
		case c == '<' || c == '>' || c == '&':
			repl = []byte{'\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF]}
		case c == 0xE2 && i+2 < len(p) && p[i+1] == 0x80 && p[i+2]&^1 == 0xA8:
			repl = []byte{'\\', 'u', '2', '0', '2', hexDigits[p[i+2]&0xF]}
			skip = 3
		default:
			continue
		}
		dst = append(append(dst, p[start:i]...), repl...)
		i += skip - 1
		start = i + 1
	}
	return append(dst, p[start:]...)
}

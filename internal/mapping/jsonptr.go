package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// pointer is a parsed RFC 6901 JSON pointer: its reference tokens, unescaped. Text keeps the
// original form for error messages.
type pointer struct {
	Text   string
	Tokens []string
}

// parsePointer parses "/a/b~1c/0". The empty string refers to the whole document.
func parsePointer(s string) (pointer, error) {
	if s == "" {
		return pointer{}, nil
	}
	if s[0] != '/' {
		return pointer{}, errors.New("a JSON pointer starts with '/'")
	}
	parts := strings.Split(s[1:], "/")
	for i, p := range parts {
		if strings.Contains(p, "~") {
			rest := strings.ReplaceAll(strings.ReplaceAll(p, "~0", ""), "~1", "")
			if strings.Contains(rest, "~") {
				return pointer{}, errors.New("'~' must be followed by '0' or '1'")
			}
			p = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
		}
		parts[i] = p
	}
	return pointer{Text: s, Tokens: parts}, nil
}

var errNotFound = errors.New("not found")

// lookup returns the raw bytes of the value p refers to in doc, scanning the bytes without
// decoding the document. It returns an error wrapping errNotFound when a token names no member
// or element. Malformed input yields an error, never a panic.
func lookup(doc []byte, p pointer) ([]byte, error) {
	cur := bytes.TrimSpace(doc)
	for _, tok := range p.Tokens {
		next, err := child(cur, tok)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.Text, err)
		}
		cur = next
	}
	return cur, nil
}

// child returns the member tok of the object v, or element tok of the array v.
func child(v []byte, tok string) ([]byte, error) {
	if len(v) == 0 {
		return nil, errors.New("empty document")
	}
	switch v[0] {
	case '{':
		return member(v, tok)
	case '[':
		idx, err := strconv.Atoi(tok)
		if err != nil || idx < 0 || (len(tok) > 1 && tok[0] == '0') {
			return nil, fmt.Errorf("%q is not an array index: %w", tok, errNotFound)
		}
		return element(v, idx)
	default:
		return nil, fmt.Errorf("%q: parent is not an object or array: %w", tok, errNotFound)
	}
}

func member(v []byte, name string) ([]byte, error) {
	i := skipSpace(v, 1)
	if i < len(v) && v[i] == '}' {
		return nil, errNotFound
	}
	for i < len(v) {
		if v[i] != '"' {
			return nil, errors.New("malformed object")
		}
		kEnd, err := skipString(v, i)
		if err != nil {
			return nil, err
		}
		key := v[i:kEnd]
		i = skipSpace(v, kEnd)
		if i >= len(v) || v[i] != ':' {
			return nil, errors.New("malformed object: missing ':'")
		}
		vStart := skipSpace(v, i+1)
		vEnd, err := skipValue(v, vStart)
		if err != nil {
			return nil, err
		}
		if keyEquals(key, name) {
			return v[vStart:vEnd], nil
		}
		i = skipSpace(v, vEnd)
		if i < len(v) && v[i] == ',' {
			i = skipSpace(v, i+1)
			continue
		}
		break
	}
	return nil, errNotFound
}

func element(v []byte, idx int) ([]byte, error) {
	i := skipSpace(v, 1)
	if i < len(v) && v[i] == ']' {
		return nil, errNotFound
	}
	for n := 0; i < len(v); n++ {
		end, err := skipValue(v, i)
		if err != nil {
			return nil, err
		}
		if n == idx {
			return v[i:end], nil
		}
		i = skipSpace(v, end)
		if i < len(v) && v[i] == ',' {
			i = skipSpace(v, i+1)
			continue
		}
		break
	}
	return nil, errNotFound
}

// keyEquals compares a quoted JSON key with name, unescaping only when the key has escapes.
func keyEquals(quoted []byte, name string) bool {
	raw := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == name
	}
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return false
	}
	return s == name
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipString returns the index just after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errors.New("unterminated string")
}

// skipValue returns the index just after the JSON value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errors.New("unexpected end of JSON")
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errors.New("unterminated object or array")
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' &&
			b[j] != '\n' && b[j] != '\r' && b[j] != '\t' {
			j++
		}
		if j == i {
			return 0, fmt.Errorf("unexpected %q", b[i])
		}
		return j, nil
	}
}

// scalarText renders a looked-up value as text: strings unquoted, null as "", numbers and
// booleans as written, objects and arrays as their JSON.
func scalarText(raw []byte) (string, error) {
	if len(raw) == 0 {
		return "", nil
	}
	switch raw[0] {
	case '"':
		if bytes.IndexByte(raw, '\\') < 0 {
			return string(raw[1 : len(raw)-1]), nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("malformed string: %w", err)
		}
		return s, nil
	case 'n':
		return "", nil
	default:
		return string(raw), nil
	}
}

package mapping

import (
	"fmt"
	"strings"
)

// template is a name template such as "boiler.{/site}.{/kind}": literal text with
// {json-pointer} placeholders filled from the payload. "{{" and "}}" stand for literal braces.
type template struct {
	text  string
	parts []templatePart
}

type templatePart struct {
	literal string
	ptr     *pointer
}

// parseTemplate parses a name template. Its errors name the problem, not the template: the
// caller names the setting.
func parseTemplate(s string) (*template, error) {
	t := &template{text: s}
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "{{"):
			lit.WriteByte('{')
			i++
		case strings.HasPrefix(s[i:], "}}"):
			lit.WriteByte('}')
			i++
		case s[i] == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("'{' without '}'")
			}
			inner := s[i+1 : i+end]
			if inner == "" {
				return nil, fmt.Errorf("empty placeholder {}")
			}
			p, err := parsePointer(inner)
			if err != nil {
				return nil, fmt.Errorf("placeholder {%s}: %w", inner, err)
			}
			if lit.Len() > 0 {
				t.parts = append(t.parts, templatePart{literal: lit.String()})
				lit.Reset()
			}
			t.parts = append(t.parts, templatePart{ptr: &p})
			i += end
		case s[i] == '}':
			return nil, fmt.Errorf("'}' without '{'")
		default:
			lit.WriteByte(s[i])
		}
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, templatePart{literal: lit.String()})
	}
	return t, nil
}

// checkTopic reports literal text that can never be part of a Kafka topic name, and
// a template without placeholders that is not a valid topic name.
func (t *template) checkTopic() error {
	if s, ok := t.static(); ok {
		if !isTopicName(s) {
			return fmt.Errorf("%q is not a Kafka topic name (1-249 of a-z A-Z 0-9 . _ -)", s)
		}
		return nil
	}
	for _, p := range t.parts {
		if p.ptr == nil && strings.IndexFunc(p.literal, func(r rune) bool { return !isTopicRune(r) }) >= 0 {
			return fmt.Errorf("%q holds characters not allowed in a topic name", p.literal)
		}
	}
	return nil
}

// isTopicName reports whether s is a valid Kafka topic name.
func isTopicName(s string) bool {
	if s == "" || len(s) > 249 || s == "." || s == ".." {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool { return !isTopicRune(r) }) < 0
}

func isTopicRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '.' || r == '_' || r == '-'
}

// static reports whether the template has no placeholder, and its text if so.
func (t *template) static() (string, bool) {
	if len(t.parts) == 0 {
		return "", true
	}
	if len(t.parts) == 1 && t.parts[0].ptr == nil {
		return t.parts[0].literal, true
	}
	return "", false
}

// render fills the placeholders from payload. A placeholder whose value is missing, null or an
// empty string is an error: a message must never be routed to a half-built name.
func (t *template) render(payload []byte) (string, error) {
	if s, ok := t.static(); ok {
		return s, nil
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.ptr == nil {
			b.WriteString(p.literal)
			continue
		}
		raw, err := lookup(payload, *p.ptr)
		if err != nil {
			return "", fmt.Errorf("template %q: %w", t.text, err)
		}
		s, err := scalarText(raw)
		if err != nil {
			return "", fmt.Errorf("template %q: %s: %w", t.text, p.ptr.Text, err)
		}
		if s == "" {
			return "", fmt.Errorf("template %q: %s is null or empty", t.text, p.ptr.Text)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

package config

import (
	"reflect"
	"regexp"
	"strings"
)

// docKey names one key of one struct type: a key's documentation is the same wherever the
// type appears ([streamsea.default.tls] documents the tls keys of every connection).
type docKey struct {
	t   reflect.Type
	key string
}

var (
	tableHeader  = regexp.MustCompile(`^\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$`)
	keyLine      = regexp.MustCompile(`^([A-Za-z0-9_-]+)\s*=\s*(.*)$`)
	commentedKey = regexp.MustCompile(`^#\s*([a-z_]+)\s*=\s*(.*)$`)
	separator    = regexp.MustCompile(`^#\s*-{8,}\s*$`)
)

// exampleDocs reads the documentation of every key from config.example.toml, the one place it
// is written: the comment after a key (set or commented out), the indented comment lines
// below it, and a comment block right above it that starts with "key:". A table's own
// documentation is the comment after its header, or the block that follows a "# -----"
// separator line before it. A key documented in several tables of the same type (the source
// of each pipeline) gets each distinct text, joined by "; ".
func exampleDocs(example []byte) map[docKey]string {
	docs := map[docKey]string{}
	add := func(k docKey, text string) {
		text = strings.Join(strings.Fields(text), " ")
		switch old := docs[k]; {
		case text == "" || strings.Contains(old, text):
		case old == "":
			docs[k] = text
		default:
			docs[k] = old + "; " + text
		}
	}
	var (
		table      reflect.Type // the struct type of the current table
		last       *docKey      // the key the next indented comment continues
		lastText   []string
		block      []string // column-0 comment lines right above
		sectionDoc []string // the block after a separator, for the next table header
		inSection  bool
		depth      int // open brackets of a value spanning lines
	)
	flush := func() {
		if last != nil {
			add(*last, strings.Join(lastText, " "))
		}
		last, lastText = nil, nil
	}
	for _, raw := range strings.Split(string(example), "\n") {
		line := strings.TrimSpace(raw)
		if depth > 0 {
			depth += bracketDepth(line)
			continue
		}
		switch {
		case line == "":
			flush()
			block, inSection = nil, false
		case separator.MatchString(line):
			flush()
			block, sectionDoc, inSection = nil, nil, true
		case strings.HasPrefix(line, "["):
			flush()
			m := tableHeader.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			parent, key, t := resolveTable(strings.Split(m[1], "."))
			table = t
			if parent == nil {
				continue
			}
			k := docKey{parent, key}
			last, lastText = &k, append(sectionDoc, comment(m[2]))
			sectionDoc, block = nil, nil
		case strings.HasPrefix(line, "#") && raw[0] != '#' && last != nil:
			lastText = append(lastText, comment(line)) // an indented continuation
		case commentedKey.MatchString(line):
			m := commentedKey.FindStringSubmatch(line)
			flush()
			last, lastText = keyDoc(table, m[1], m[2], nil)
			block = nil
		case strings.HasPrefix(line, "#"):
			flush()
			if inSection {
				sectionDoc = append(sectionDoc, comment(line))
			} else {
				block = append(block, comment(line))
			}
		default:
			m := keyLine.FindStringSubmatch(line)
			flush()
			if m == nil {
				continue
			}
			last, lastText = keyDoc(table, m[1], m[2], block)
			block = nil
			_, value := splitComment(m[2])
			depth = bracketDepth(value)
		}
	}
	flush()
	return docs
}

// keyDoc starts the documentation of key in table from the comment after its value and, when
// it starts with "key:", the comment block above it.
func keyDoc(table reflect.Type, key, rest string, above []string) (*docKey, []string) {
	if table == nil {
		return nil, nil
	}
	text, _ := splitComment(rest)
	var lines []string
	if len(above) > 0 && strings.HasPrefix(above[0], key+":") {
		lines = append([]string{strings.TrimSpace(strings.TrimPrefix(above[0], key+":"))}, above[1:]...)
	}
	return &docKey{table, key}, append(lines, text)
}

// comment strips the "#" of a comment.
func comment(s string) string {
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "#"))
}

// splitComment splits "value  # text" into the text and the value, minding '#' in strings.
func splitComment(s string) (text, value string) {
	at := -1
	outsideStrings(s, func(i int) bool {
		if s[i] == '#' {
			at = i
		}
		return at < 0
	})
	if at < 0 {
		return "", strings.TrimSpace(s)
	}
	return comment(s[at:]), strings.TrimSpace(s[:at])
}

// bracketDepth counts the brackets and braces a line of TOML opens minus those it closes,
// outside strings and comments.
func bracketDepth(s string) int {
	_, value := splitComment(s)
	depth := 0
	outsideStrings(value, func(i int) bool {
		switch value[i] {
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		}
		return true
	})
	return depth
}

// outsideStrings calls fn with the index of each byte of s that is not inside a TOML string,
// until fn returns false.
func outsideStrings(s string, fn func(i int) bool) {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '"' && c == '\\':
			i++
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case !fn(i):
			return
		}
	}
}

// resolveTable follows a table header's path through the config types: it returns the
// struct type holding the table's key, that key, and the struct type of the table itself (a
// map of connections consumes the connection's name; an array of tables is its element).
func resolveTable(path []string) (parent reflect.Type, key string, table reflect.Type) {
	t := reflect.TypeFor[Config]()
	for i := 0; i < len(path); i++ {
		f, ok := fieldByKey(t, path[i])
		if !ok {
			return nil, "", nil
		}
		parent, key, t = t, path[i], elem(f.Type)
		if f.Type.Kind() == reflect.Map {
			i++ // the connection's name
		}
	}
	return parent, key, t
}

// elem is the struct type a field holds, through pointers, maps and slices.
func elem(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Map || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	return t
}

// fieldByKey finds the field of struct t that decodes key: by koanf tag, or, for the untagged
// stream-sea schema types, by lower-cased name.
func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	if t.Kind() != reflect.Struct {
		return reflect.StructField{}, false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if keyOf(f) == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// keyOf is the TOML key of a field: its koanf tag, or, for the untagged stream-sea schema
// types, its lower-cased name (as the decoder's MapFieldName). It is "" for a field that is not
// a key.
func keyOf(f reflect.StructField) string {
	tag, tagged := f.Tag.Lookup("koanf")
	switch {
	case !f.IsExported() || tag == "-":
		return ""
	case tagged:
		return tag
	}
	return strings.ToLower(f.Name)
}

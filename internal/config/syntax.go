package config

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// SyntaxError is a TOML document that does not parse. Line and Column are 1-based (0 when the
// parser does not say); Key is the key or table header the line starts with, when it has one.
// It never quotes the document's values: a line may hold a secret.
type SyntaxError struct {
	File   string // set by Load
	Line   int
	Column int
	Key    string
	Msg    string
}

func (e *SyntaxError) Error() string {
	at := ":"
	switch {
	case e.File != "" && e.Line > 0:
		at = fmt.Sprintf(" %s:%d:%d:", e.File, e.Line, e.Column)
	case e.File != "":
		at = " " + e.File + ":"
	case e.Line > 0:
		at = fmt.Sprintf(": line %d, column %d:", e.Line, e.Column)
	}
	msg := "config" + at + " TOML syntax error"
	switch {
	case strings.HasPrefix(e.Key, "["):
		msg += " in the table header " + e.Key
	case e.Key != "":
		msg += " at key " + e.Key
	}
	return msg + ": " + e.Msg
}

var leadingKey = regexp.MustCompile(`^[A-Za-z0-9_.\-"']+`)

// newSyntaxError describes a parse failure of src.
func newSyntaxError(src []byte, err error) error {
	var de *toml.DecodeError
	if !errors.As(err, &de) {
		if se := locateSemanticError(src, err.Error()); se != nil {
			return se
		}
		return &SyntaxError{Msg: strings.TrimPrefix(err.Error(), "toml: ")}
	}
	row, col := de.Position()
	e := &SyntaxError{Line: row, Column: col, Msg: strings.TrimPrefix(de.Error(), "toml: ")}
	lines := strings.Split(string(src), "\n")
	if row < 1 || row > len(lines) {
		return e
	}
	line := strings.TrimSpace(lines[row-1])
	if strings.HasPrefix(line, "[") {
		e.Key = line // a table header
		return e
	}
	e.Key = leadingKey.FindString(line)
	if _, value, ok := strings.Cut(line, "="); ok && e.Key != "" {
		v := strings.TrimSpace(value)
		if v != "" && isLetter(v[0]) && !isTOMLWord(v) {
			e.Msg += "; strings must be quoted: " + e.Key + ` = "..."`
		}
	}
	return e
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// isTOMLWord reports whether v starts with a bare word TOML allows as a value.
func isTOMLWord(v string) bool {
	for _, w := range []string{"true", "false", "inf", "nan"} {
		if strings.HasPrefix(v, w) {
			return true
		}
	}
	return false
}

// missingFileError is a config file that does not exist.
type missingFileError struct{ path string }

func (e *missingFileError) Error() string {
	return fmt.Sprintf("config file %s does not exist", e.path)
}

func (e *missingFileError) Is(target error) bool { return target == fs.ErrNotExist }

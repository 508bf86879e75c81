package inspect

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// MaxLineBytes is the longest input line Send functions read.
const MaxLineBytes = 16 << 20

// InputError is a line of the input that cannot be sent as it is (not JSON, not a record):
// the input's fault, not the server's.
type InputError struct {
	Line int
	Err  error
}

func (e *InputError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *InputError) Unwrap() error { return e.Err }

// message is one input line to send.
type message struct {
	line    int // 1-based line number in the input
	key     []byte
	headers []Header
	value   []byte
}

// lineReader reads JSON lines: each non-blank line is a message's value, or, with records,
// a Record whose key, headers and value are sent (its topic, partition, offset, stream and
// timestamp are ignored, so that `bridge tail` output can be sent again).
type lineReader struct {
	sc      *bufio.Scanner
	records bool
	line    int
}

func newLineReader(in io.Reader, records bool) *lineReader {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), MaxLineBytes)
	return &lineReader{sc: sc, records: records}
}

// next returns the next message, io.EOF at the end of the input, or an error naming the line.
func (lr *lineReader) next() (message, error) {
	for lr.sc.Scan() {
		lr.line++
		raw := bytes.TrimSpace(lr.sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		m, err := lr.parse(raw)
		if err != nil {
			return message{}, &InputError{Line: lr.line, Err: err}
		}
		m.line = lr.line
		return m, nil
	}
	if err := lr.sc.Err(); err != nil {
		return message{}, &InputError{Line: lr.line + 1, Err: err}
	}
	return message{}, io.EOF
}

func (lr *lineReader) parse(raw []byte) (message, error) {
	if !json.Valid(raw) {
		return message{}, fmt.Errorf("not JSON: %.80s", raw)
	}
	if !lr.records {
		return message{value: bytes.Clone(raw)}, nil
	}
	var r Record
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return message{}, fmt.Errorf("not a record {\"key\": ..., \"headers\": {...}, \"value\": ...}: %w", err)
	}
	var m message
	var err error
	if m.key, err = r.keyBytes(); err != nil {
		return message{}, err
	}
	if m.headers, err = r.headerList(); err != nil {
		return message{}, err
	}
	if m.value, err = r.valueBytes(); err != nil {
		return message{}, err
	}
	m.value = bytes.Clone(m.value)
	return m, nil
}

package streamsea

import (
	"errors"
	"fmt"
	"strconv"
)

// UnmarshalJSON decodes a version from a JSON number or from a JSON string holding one. The
// number must be whole (3, 3.0 and 3e0 are the same version), not negative and within int64;
// null, booleans, fractions and anything else are rejected.
func (v *Version) UnmarshalJSON(b []byte) error {
	s := jsonScanner{b: b}
	var num span
	switch s.peek() {
	case '"':
		sp, escaped, ok := s.scanString()
		if !ok || !s.finish() {
			return fmt.Errorf("schema version %s: %w", truncateForMessage(b), s.err)
		}
		if escaped {
			return fmt.Errorf("schema version %s: not a whole number", truncateForMessage(b))
		}
		inner := jsonScanner{b: b[sp.start:sp.end]}
		n, ok := inner.scanNumber()
		if !ok || inner.pos != len(inner.b) {
			return fmt.Errorf("schema version %s: not a whole number", truncateForMessage(b))
		}
		num = span{sp.start + n.start, sp.start + n.end}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		n, ok := s.scanNumber()
		if !ok || !s.finish() {
			return fmt.Errorf("schema version %s: not a whole number", truncateForMessage(b))
		}
		num = n
	default:
		return fmt.Errorf("schema version %s: want a number or a string holding one", truncateForMessage(b))
	}
	n, err := parseVersion(b[num.start:num.end])
	if err != nil {
		return fmt.Errorf("schema version %s: %w", truncateForMessage(b), err)
	}
	*v = Version(n)
	return nil
}

// MarshalJSON encodes the version as a JSON number.
func (v Version) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(v), 10), nil
}

var (
	errVersionNegative = errors.New("must not be negative")
	errVersionFraction = errors.New("not a whole number")
	errVersionRange    = errors.New("out of range")
)

// parseVersion converts a well-formed JSON number to a version.
func parseVersion(num []byte) (int64, error) {
	n, class := wholeNumber(num)
	switch class {
	case numberFraction:
		return 0, errVersionFraction
	case numberOutOfRange:
		return 0, errVersionRange
	}
	if n < 0 {
		return 0, errVersionNegative
	}
	return n, nil
}

// truncateForMessage quotes at most 40 bytes of b for an error message.
func truncateForMessage(b []byte) string {
	const limit = 40
	if len(b) > limit {
		return strconv.Quote(string(b[:limit])) + "..."
	}
	return strconv.Quote(string(b))
}

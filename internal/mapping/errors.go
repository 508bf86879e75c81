package mapping

import "strings"

// OptionError is one invalid setting found by New. Key names the setting as it is written in
// a pipeline's [mapping] table, e.g. "key", "include[1]", `rename["a"]`, `static["when"][0]`,
// so that a caller can prefix the pipeline's path.
type OptionError struct {
	Key string
	Msg string
}

func (e *OptionError) Error() string { return e.Key + ": " + e.Msg }

// Errors lists every problem found while compiling mapping options; each is an *OptionError.
type Errors []error

func (e Errors) Error() string {
	parts := make([]string, len(e))
	for i, err := range e {
		parts[i] = err.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap lets errors.Is and errors.As see each problem.
func (e Errors) Unwrap() []error { return e }

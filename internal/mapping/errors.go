package mapping

import "strings"

// Errors lists every problem found while compiling mapping options.
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

func joinErrors(errs []error) error { return Errors(errs) }

package config

import "strings"

// FieldError is one problem with one configuration key. Path names the key as the user
// wrote it, e.g. `pipelines["boiler"].source.group_id` or `kafka["main"].brokers`.
type FieldError struct {
	Path string
	Msg  string
}

func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Errors is every problem found in one configuration, in a stable order. Load, LoadBytes and
// Validate return it (possibly wrapped) so that all problems are reported at once.
type Errors struct {
	Fields []FieldError
}

// Error prints one problem per line.
func (e *Errors) Error() string {
	var b strings.Builder
	for i, f := range e.Fields {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(f.Error())
	}
	return b.String()
}

// add records a problem unless it is already recorded.
func (e *Errors) add(path, msg string) {
	f := FieldError{Path: path, Msg: msg}
	for _, seen := range e.Fields {
		if seen == f {
			return
		}
	}
	e.Fields = append(e.Fields, f)
}

// has reports whether a problem is recorded at path.
func (e *Errors) has(path string) bool {
	for _, f := range e.Fields {
		if f.Path == path {
			return true
		}
	}
	return false
}

// err returns e, or nil when e holds no problem.
func (e *Errors) err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

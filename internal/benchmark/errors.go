package benchmark

import "errors"

var (
	// ErrBadOptions wraps every problem Options.validate finds.
	ErrBadOptions = errors.New("benchmark: bad options")
	// ErrIncomplete means a scenario ended (timeout, failure) before its reader saw every message.
	ErrIncomplete = errors.New("benchmark: not every message arrived")
)

package source

import "errors"

var (
	// ErrStreamSeaClosed is returned by a stream-sea source used after Close.
	ErrStreamSeaClosed = errors.New("stream-sea source closed")
	// ErrStreamSeaAckedTwice is returned by a stream-sea AckFunc called more than once for the
	// same message; the second call has no effect.
	ErrStreamSeaAckedTwice = errors.New("stream-sea message acked twice")
)

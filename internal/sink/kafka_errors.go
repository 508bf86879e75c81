package sink

import "errors"

var (
	// ErrNoTopic rejects a message that names no target topic when the sink has no default.
	ErrNoTopic = errors.New("message has no target topic and the sink has no default topic")
	// ErrTooLarge rejects a message larger than the writer's BatchBytes.
	ErrTooLarge = errors.New("message larger than the batch size limit")
)

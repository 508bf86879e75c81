package source

import "errors"

// ErrAckedTwice is returned by a Kafka AckFunc called more than once for the same message; the
// second call has no effect.
var ErrAckedTwice = errors.New("kafka message acked twice")

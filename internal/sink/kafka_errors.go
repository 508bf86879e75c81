package sink

import (
	"errors"

	"github.com/segmentio/kafka-go"
)

var (
	// ErrNoTopic rejects a message that names no target topic when the sink has no default.
	ErrNoTopic = errors.New("message has no target topic and the sink has no default topic")
	// ErrTooLarge rejects a message larger than the writer's BatchBytes.
	ErrTooLarge = errors.New("message larger than the batch size limit")
)

// isSettingsRefusal reports produce errors that every write with the writer's settings gets,
// whatever the records: the cluster does not support the request or the compression, or a
// topic policy refuses the writes. Retrying cannot fix them.
func isSettingsRefusal(err error) bool {
	for _, e := range []error{kafka.UnsupportedVersion, kafka.UnsupportedForMessageFormat,
		kafka.UnsupportedCompressionType, kafka.InvalidRequiredAcks, kafka.PolicyViolation} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

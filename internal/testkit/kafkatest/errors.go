package kafkatest

import "errors"

// errNotReady reports a topic whose partitions are missing or have no leader yet.
var errNotReady = errors.New("topic not ready")

package kafkautil

import "errors"

var (
	// ErrAuth marks a failure to authenticate to the brokers (SASL rejected, broker
	// certificate not trusted, client certificate refused): retrying with the same settings
	// cannot succeed.
	ErrAuth = errors.New("kafka authentication failed")
	// ErrConfig marks invalid connection settings (no brokers, unknown SASL mechanism).
	ErrConfig = errors.New("invalid kafka connection settings")
	// ErrTopicMissing marks a topic that does not exist on the cluster.
	ErrTopicMissing = errors.New("kafka topic does not exist")
)

// ErrAborted is the error of a dial through a Conns that was aborted.
var ErrAborted = errors.New("kafka connections aborted: closing ran out of time")

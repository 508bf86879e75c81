// Package pipeline holds the message contract shared by every source, mapper and sink, and the
// runner that moves messages from one source through a mapper to one sink with retries,
// backoff, batching, ack bookkeeping and dead-letter routing.
package pipeline

// Package emulator is an in-memory stand-in for a stream-sea 4.x server: the REST API under
// /api/v1 (publish, define, describe, schema versions vector, clients, JWT keys, jails), the
// websocket protocol at /api/v1/streams (authenticate, subscribe, deliveries, pings), consumer
// groups, JWT filters and bounded per-connection queues with a configurable slow-subscriber
// policy, and fault injection (/emulator/faults: errors, Retry-After, latency, hung requests).
// Nothing is persisted and nothing is replayed: like the real server, delivery is at
// most once.
//
// Lifecycle: New builds a Server; Start listens and serves in the background (or Handler is
// mounted elsewhere); Close stops everything and waits for every goroutine the server started.
// All methods of Server are safe for concurrent use. docs/emulator.md lists which behaviours
// are protocol facts and which are the emulator's own choices.
package emulator

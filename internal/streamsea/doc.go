// Package streamsea speaks the stream-sea 4.x protocol: schema definitions and payload
// validation, the websocket frame codec, the REST client (publish, define, describe, versions
// vector) and the websocket subscriber (authenticate, subscribe with a groupId, reconnect).
// See ../../docs/protocol.md for the protocol itself.
package streamsea

// Package inspect reads and writes messages by hand, for `bridge tail` and `bridge send`: it
// prints what reaches a Kafka topic or a stream-sea stream, and publishes JSON lines to them.
//
// A Record is one message as the commands show it and read it: where it was read (topic,
// partition and offset, or stream), its time, key, headers and value. Values that are JSON are
// shown as JSON, other UTF-8 text as a JSON string, other bytes in base64.
//
// Tail functions run until ctx is done, the count asked for was printed, or the connection
// fails; they never retry an unreachable server at start (a tool should say so at once), and
// never commit or consume on anyone's behalf unless given a group. Send functions stop at the
// first line they cannot send, after everything before it was sent.
package inspect

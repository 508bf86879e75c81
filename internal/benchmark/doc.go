// Package benchmark measures the bridge end to end, side by side with the raw limits of the
// systems it connects, in one process: a bare kafka-go producer (the Kafka-side ceiling), a
// bare websocket reader of the stream-sea emulator (the stream-sea-side ceiling), and the real
// bridge (internal/bridge App) in each direction.
//
// Run executes the scenarios one after another. Each scenario starts its own servers (an
// in-process kfake broker unless real brokers are given, and a stream-sea emulator), marks the
// start of its measured window once everything is connected, and ends it when the final reader
// has seen every message. Within the window it records the wall time, the process CPU time
// (getrusage, user + system: the in-process broker, emulator and load generators are included,
// in every scenario alike), the Go allocations and the end-to-end latency of every message
// (receive time minus the send time stamped into its payload).
//
// The figures are measurements, not assertions: nothing in this package fails on a slow run.
// Every scenario is bounded by Options.Timeout and reports a failure instead of hanging.
package benchmark

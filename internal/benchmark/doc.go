// Package benchmark measures the bridge the way its users see it: the bridge runs as its own
// process (bridge run, with a config of its defaults), and so does every raw client it is
// compared with (bridge bench --worker: a bare kafka-go producer, a bare kafka-go group
// reader, a bare websocket reader, a bare batched publisher). The Kafka broker (an external
// one, or kfake in the bench process), the stream-sea emulator, the load generators and the
// final readers run outside the measured process, whose CPU and memory are read from
// /proc/PID.
//
// Run executes the throughput scenarios in interleaved rounds (each round runs every selected
// scenario once) and reports the median and spread of each figure, and each bridge figure as
// a ratio to the raw limit measured in the same round; then the end-to-end latency of each
// direction at fixed offered loads; then the resident memory of idle pipelines.
//
// The figures are measurements, not assertions: nothing in this package fails on a slow run.
// Every scenario is bounded by Options.Timeout and reports a failure instead of hanging.
package benchmark

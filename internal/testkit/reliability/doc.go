// Package reliability is the fault harness of `make reliability` and `make soak`: scenarios
// that run the bridge as users run it (its own process on a TOML config, the stream-sea
// emulator as its own process, Apache Kafka from scripts/kafka.sh or kfake), inject faults
// between the bridge and each server (a fault proxy, /emulator/faults, signals to the
// processes), and check numbered messages by id at the far side.
//
// A scenario (Suite.Begin) owns a Ledger of its numbered messages: the publisher marks each
// one the source server accepted; recorders at the far side (a Kafka consumer on the sink
// and dead-letter topics, or a websocket subscriber of its own group on stream-sea) record
// every copy. Finish accounts for each message: delivered (where it belongs: the sink, or the
// dead-letter topic for poison), duplicated, lost, misrouted or wrong, and attributes each
// loss:
//
//   - to the server, up to what the stream-sea emulator counted and logged: messages
//     published while no subscriber was connected (unrouted) and messages it dropped (a
//     subscriber's queue full, or its connection gone). stream-sea has no acks and no replay,
//     so these are lost by the protocol. With Setup.AllowTransit, what the server wrote to a
//     connection that a fault then reset, and the bridge never read, is lost by the network,
//     provided the bridge counted and logged the disconnect;
//   - to the bridge, counted: up to its nacked and undelivered counters, when a log line
//     named them;
//   - to the bridge, silent: the rest. Any of these fails the verdict.
//
// The recovery time after a fault heals is how long until every message sent before the heal
// that arrived at all had arrived, and the first message sent after it had arrived.
//
// The harness's Kafka clients are franz-go, not the bridge's kafka-go, and its stream-sea
// clients are plain HTTP and gorilla/websocket, not the bridge's own client, so that a bug in
// those cannot hide on both sides of a measurement.
package reliability

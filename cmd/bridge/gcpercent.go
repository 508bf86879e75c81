package main

import (
	"runtime/debug"
)

// defaultGCPercent is the garbage collector's target that bridge run uses when GOGC is unset:
// a collection starts once the heap has grown by twice what was live after the last one,
// instead of the runtime's once (GOGC=100). At saturation a Kafka → stream-sea pipeline
// allocates every record kafka-go decodes, so collections come often; at 200 the bridge
// spends 6-15 % less CPU per message, for about 12 MiB more peak RSS at saturation
// and no measurable change for idle pipelines (docs/benchmarks.md). GOGC, and GOMEMLIMIT
// (which bounds the heap whatever the target), override it as for any Go program.
const defaultGCPercent = 200

// setDefaultGCPercent applies defaultGCPercent unless GOGC is set in env. It returns the
// target in force.
func setDefaultGCPercent(lookupEnv func(string) (string, bool)) int {
	if _, set := lookupEnv("GOGC"); set {
		old := debug.SetGCPercent(-1)
		debug.SetGCPercent(old)
		return old
	}
	debug.SetGCPercent(defaultGCPercent)
	return defaultGCPercent
}

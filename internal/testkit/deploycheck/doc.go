// Package deploycheck reads the operator-facing files of the repository (the Grafana
// dashboard, the Prometheus rule files, docs/metrics.md) and what they must agree with in the
// code (the bridge's subcommands and flags, read from cmd/bridge's source; the metrics the
// bridge registers), for the tests that hold them to each other: test/deploy, test/kubernetes
// and test/prometheus. Every loader fails the test on error.
package deploycheck

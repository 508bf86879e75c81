// Package prometheus holds the tests that need a real Prometheus: promtool checks the shipped
// config and rule files and runs the alerts' unit tests, and a Prometheus server scrapes the
// bridge binary while messages flow both ways and evaluates every dashboard and alert query
// through its HTTP API.
//
// They need Debian's prometheus package (prometheus and promtool on PATH, or PROMETHEUS and
// PROMTOOL naming the binaries); without it every test fails saying what to install.
// scripts/test.sh deploy installs it and runs them; the unit stage leaves this package out.
package prometheus

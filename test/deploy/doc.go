// Package deploy checks the operator-facing files against the code: docs/metrics.md and the
// Grafana dashboard against the metrics the bridge registers, deploy/bridge.toml against the
// config loader, and docker-compose.yml and the Dockerfile against the compose specification,
// the bridge's commands and go.mod. It holds tests only; they start no server and dial nothing.
package deploy

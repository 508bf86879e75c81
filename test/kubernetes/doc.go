// Package kubernetes checks deploy/kubernetes: each kustomization is built with kustomize's
// own library (as kubectl apply -k would), every object it makes is decoded strictly into the
// Kubernetes API types (k8s.io/api), the Prometheus Operator's (ServiceMonitor,
// PrometheusRule) and KEDA's (ScaledObject), where an unknown field is an error, and what the
// objects use is checked against the bridge: the commands and flags of cmd/bridge, the config
// they mount loaded by the real loader with the container's environment, ports, probe paths,
// the metrics queried, and the alerts of deploy/prometheus/alerts.yml. The spool variant's
// StatefulSet is checked against the Deployment it replaces, and its spools against the
// volume each pod gets: every spool directory on it, their max_bytes within its size.
//
// It is a module of its own so that the Kubernetes libraries it needs (KEDA's API types pull
// in client-go and controller-runtime) never change the bridge's own dependencies.
package kubernetes

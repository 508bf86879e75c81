// Package pipelinetest provides conformance suites for pipeline.Source and pipeline.Sink
// implementations (RunSourceSuite, RunSinkSuite) and in-memory sources and sinks with fault
// injection (MemLog/MemSource, MemSink, MemDeadLetter) for tests of the runner and of code that
// wires pipelines. It is imported by tests only.
package pipelinetest

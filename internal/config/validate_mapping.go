package config

import (
	"errors"
	"strings"

	"github.com/seabridge/seabridge/internal/mapping"
	"github.com/seabridge/seabridge/internal/streamsea"
)

// mapping compiles the pipeline's mapping exactly as the running bridge does and reports each
// problem at its key, plus the keys that do not apply to the sink type.
func (v *validator) mapping(path string, m Mapping, sink Endpoint) {
	v.onlyForSink(path, sink, EndpointKafka, "key", m.Key != "")
	v.onlyForSink(path, sink, EndpointKafka, "topic", m.Topic != "")
	v.onlyForSink(path, sink, EndpointKafka, "envelope", m.Envelope)
	v.onlyForSink(path, sink, EndpointStreamsea, "stream", m.Stream != "")
	v.positive(path+".jq_timeout", m.JQTimeout)
	v.atLeast(path+".jq_max_bytes", m.JQMaxBytes, 1)
	opts := m.Options()
	opts.JQTimeout, opts.JQMaxBytes = max(opts.JQTimeout, 0), max(opts.JQMaxBytes, 0) // reported above
	_, err := mapping.New(opts)
	var list mapping.Errors
	if !errors.As(err, &list) {
		if err != nil {
			v.add(path, "%v", err)
		}
		return
	}
	for _, e := range list {
		var oe *mapping.OptionError
		if errors.As(e, &oe) {
			v.errs.add(path+"."+oe.Key, oe.Msg)
		} else {
			v.add(path, "%v", e)
		}
	}
}

// Options returns the mapping settings in the form mapping.New compiles.
func (m Mapping) Options() mapping.Options {
	return mapping.Options{
		Key: m.Key, Topic: m.Topic, Stream: m.Stream, Include: m.Include, Rename: m.Rename,
		Static: m.Static, HeadersToFields: m.HeadersToFields, FieldsToHeaders: m.FieldsToHeaders,
		JQ: m.JQ, JQTimeout: m.JQTimeout, JQMaxBytes: m.JQMaxBytes, Envelope: m.Envelope,
	}
}

func (v *validator) onlyForSink(path string, sink, owner Endpoint, key string, set bool) {
	if set && sink != owner && (sink == EndpointKafka || sink == EndpointStreamsea) {
		v.add(path+"."+key, "only applies to a %s sink", owner)
	}
}

// schema reports the rules of stream-sea schema definitions that s breaks, one error per
// problem, each at the path of its field.
func (v *validator) schema(path string, s *streamsea.Schema) {
	for _, problem := range schemaProblems(s.Check()) {
		at, msg, ok := strings.Cut(problem, ": ")
		if !ok {
			at, msg = "", problem
		}
		v.errs.add(strings.TrimSuffix(path+"."+at, "."), msg)
	}
}

// schemaProblems splits a streamsea.SchemaError into its problems.
func schemaProblems(err error) []string {
	var se *streamsea.SchemaError
	if errors.As(err, &se) {
		return se.Problems
	}
	if err != nil {
		return []string{err.Error()}
	}
	return nil
}

// Package config holds the bridge configuration as plain structs, their defaults, strict
// loading and validation.
//
// Load and LoadBytes start from the defaults (Default, DefaultStreamsea, DefaultKafka,
// DefaultPipeline), merge a TOML document over them, then the environment, and decode strictly:
// unknown keys, wrong types, bad enums, missing or misplaced keys and dangling connection
// references are all reported at once in an *Errors, each naming its key, e.g.
//
//	pipelines["boiler"].source.group_id: "abc" is not an RFC 4122 UUID
//	kafka["main"].brokers: must not be empty
//	pipelines["boiler"].sink.topik: unknown key
//
// Environment overrides use the prefix BRIDGE_, with "__" between levels; names are
// lower-cased:
//
//	BRIDGE_HTTP__LISTEN=:9100
//	BRIDGE_KAFKA__MAIN__BROKERS=a:9092,b:9092      (lists are comma-separated)
//	BRIDGE_STREAMSEA__DEFAULT__CLIENT_SECRET=...
//
// Pipelines are an array, so an override addresses one by its exact (case-sensitive) name;
// naming no configured pipeline is an error:
//
//	BRIDGE_PIPELINES__boiler__SINK__TOPIC=x
//
// Every BRIDGE_ variable is read as configuration, so one that names no key is an error.
// Connections and pipelines whose names hold upper-case letters or "__" cannot be addressed
// from the environment.
//
// The secrets client_secret, jwt and sasl.password may each be given as a file instead
// (client_secret_file, ...): Load reads it, trimming trailing newlines; setting both is an
// error. Secrets have the type Secret, which never prints its value, and Config.String prints
// the whole configuration as TOML with secrets redacted.
//
// Named connections ([streamsea.NAME], [kafka.NAME]) each start from their defaults; a
// "default" connection of each kind always exists, and pipelines use "default" unless they
// name another. Credentials are only required of connections that an enabled pipeline uses.
//
// Nothing in this package runs concurrently or keeps state: a *Config is plain data, safe to
// read from many goroutines once loaded.
package config

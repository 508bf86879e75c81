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
// TOML values must have their key's type; only strings convert (to numbers, booleans,
// durations and comma-separated lists), as the environment gives every value as a string.
// Each pipeline's [mapping] is compiled with mapping.New, as the running bridge compiles it,
// so that validation and the bridge agree on every mapping.
//
// Environment overrides use the prefix BRIDGE_, with "__" between levels; names are
// lower-cased:
//
//	BRIDGE_HTTP__LISTEN=:9100
//	BRIDGE_KAFKA__MAIN__BROKERS=a:9092,b:9092      (lists are comma-separated)
//	BRIDGE_STREAMSEA__DEFAULT__CLIENT_SECRET=...
//
// Pipelines are an array, so an override addresses one by its name; naming no configured
// pipeline is an error:
//
//	BRIDGE_PIPELINES__BOILER_TO_KAFKA__SINK__TOPIC=x     (the pipeline "boiler-to-kafka")
//
// Pipeline and connection names are matched as a shell can write them: the exact name first,
// else any name equal to the variable's level in lower case with '-' and '.' as '_'. A level
// that matches two names is an error naming both; a connection level that matches none names a
// new connection, in lower case. Names that hold "__" cannot be addressed.
//
// Every BRIDGE_ variable is read as configuration, so one that names no key is an error, and
// every problem at a key a variable set ends with "(set by BRIDGE_...)".
//
// A file that does not exist is an error matching fs.ErrNotExist; one that does not parse is a
// *SyntaxError with the line and column, which never quotes the file's text.
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

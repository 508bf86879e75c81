package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/toml/v2"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
)

// keyDelim separates key levels inside koanf. It is a control character so that connection
// names, field names and JSON pointers used as keys may contain dots.
const keyDelim = "\x1f"

// Environment overrides: BRIDGE_HTTP__LISTEN sets http.listen.
const (
	envPrefix   = "BRIDGE_"
	envLevelSep = "__"
)

// Load reads the TOML file at path, applies the BRIDGE_* overrides found in environ (in
// os.Environ form), resolves *_file secrets and schema files (relative paths are relative to the
// file's directory) and validates the result. Every problem is reported at once: the returned
// error wraps an *Errors unless the file could not be read or parsed. The error names path.
func Load(path string, environ []string) (*Config, error) {
	cfg, err := load(file.Provider(path), environ, filepath.Dir(path))
	if err == nil {
		return cfg, nil
	}
	var list *Errors
	if errors.As(err, &list) {
		return nil, fmt.Errorf("config %s:\n%w", path, err)
	}
	return nil, fmt.Errorf("config %s: %w", path, err)
}

// LoadBytes is Load for TOML held in memory; relative file paths are relative to the working
// directory.
func LoadBytes(b []byte, environ []string) (*Config, error) {
	return load(rawbytes.Provider(b), environ, "")
}

func load(p koanf.Provider, environ []string, baseDir string) (*Config, error) {
	k := koanf.New(keyDelim)
	if err := k.Load(p, toml.Parser()); err != nil {
		return nil, fmt.Errorf("parse TOML: %w", err)
	}
	if err := k.Load(envProvider(environ), nil); err != nil {
		return nil, fmt.Errorf("read environment: %w", err)
	}
	errs := &Errors{}
	cfg := decode(k.Raw(), pipelineOverrides(environ), errs)
	resolveFiles(cfg, baseDir, errs)
	if cfg.Bridge.InstanceID == "" {
		host, err := os.Hostname()
		if err != nil {
			errs.add("bridge.instance_id", fmt.Sprintf("empty and the hostname is unknown: %v", err))
		}
		cfg.Bridge.InstanceID = host
	}
	// A key that failed to decode kept its default; a validation problem at the same key
	// would only repeat the decode problem less clearly.
	var verrs *Errors
	if errors.As(cfg.Validate(), &verrs) {
		decoded := &Errors{Fields: slices.Clone(errs.Fields)}
		for _, f := range verrs.Fields {
			if !decoded.has(f.Path) {
				errs.add(f.Path, f.Msg)
			}
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// envProvider turns BRIDGE_A__B_C=v into the key a.b_c (levels joined by keyDelim). Pipeline
// overrides are left out: pipelines are an array, addressed by name in pipelineOverrides.
func envProvider(environ []string) *env.Env {
	return env.Provider(keyDelim, env.Opt{
		Prefix:      envPrefix,
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, value string) (string, any) {
			levels := envLevels(name)
			if strings.EqualFold(levels[0], "pipelines") {
				return "", nil
			}
			for i := range levels {
				levels[i] = strings.ToLower(levels[i])
			}
			return strings.Join(levels, keyDelim), value
		},
	})
}

func envLevels(name string) []string {
	return strings.Split(strings.TrimPrefix(name, envPrefix), envLevelSep)
}

// override is one BRIDGE_PIPELINES__<name>__<key...>=value variable.
type override struct {
	variable string
	pipeline string
	keys     []string
	value    string
}

func pipelineOverrides(environ []string) []override {
	var out []override
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, envPrefix) {
			continue
		}
		levels := envLevels(name)
		if !strings.EqualFold(levels[0], "pipelines") {
			continue
		}
		o := override{variable: name, value: value}
		if len(levels) > 1 {
			o.pipeline = levels[1]
		}
		for _, l := range levels[min(2, len(levels)):] {
			o.keys = append(o.keys, strings.ToLower(l))
		}
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].variable < out[j].variable })
	return out
}

// decoderConfig is the strict decoding used for every section: unknown keys are errors, TOML
// values must have the key's type, strings (as the environment gives every value) convert to
// numbers, booleans, durations and comma-separated lists, and fields absent from the input
// keep the value already in the target (the defaults), while lists and tables present in the
// input replace the defaults whole. root prefixes every error path.
func decoderConfig(root string) *mapstructure.DecoderConfig {
	return &mapstructure.DecoderConfig{
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			rejectNumberAsDuration,
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToBasicTypeHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
			mapstructure.TextUnmarshallerHookFunc(),
		),
		ErrorUnused: true,
		ZeroFields:  true,
		RootName:    root,
		TagName:     "koanf",
		// Untagged fields (the stream-sea schema types) use their lower-cased names, so that
		// errors name them as written: sink.schema.fields[0].name.
		MapFieldName: strings.ToLower,
	}
}

// rejectNumberAsDuration refuses a bare number where a duration is expected: `10` would
// otherwise silently mean 10ns.
func rejectNumberAsDuration(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeFor[time.Duration]() {
		return data, nil
	}
	switch from.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64, reflect.Float32:
		return nil, fmt.Errorf("must be a duration such as \"10s\", not the bare number %v", data)
	}
	return data, nil
}

// mapProvider serves an already parsed section to koanf.
type mapProvider map[string]any

func (m mapProvider) Read() (map[string]any, error) { return m, nil }

func (m mapProvider) ReadBytes() ([]byte, error) {
	return nil, errors.New("config: a parsed section has no bytes")
}

// unmarshal decodes section over the values already in out, recording problems under root.
func unmarshal(section map[string]any, root string, out any, errs *Errors) {
	k := koanf.New(keyDelim)
	if err := k.Load(mapProvider(section), nil); err != nil {
		errs.add(root, err.Error())
		return
	}
	err := k.UnmarshalWithConf("", out, koanf.UnmarshalConf{DecoderConfig: decoderConfig(root)})
	if err == nil {
		return
	}
	found := &Errors{}
	collectDecodeErrors(err, found)
	sort.SliceStable(found.Fields, func(i, j int) bool { return found.Fields[i].Path < found.Fields[j].Path })
	for _, f := range found.Fields {
		errs.add(f.Path, f.Msg)
	}
}

// collectDecodeErrors flattens mapstructure's tree of joined errors into one FieldError per
// key, splitting its "has invalid keys: a, b" report into one "unknown key" per key.
func collectDecodeErrors(err error, errs *Errors) {
	var de *mapstructure.DecodeError
	switch e := err.(type) {
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			collectDecodeErrors(inner, errs)
		}
		return
	case *mapstructure.DecodeError:
		de = e
	default:
		if inner := errors.Unwrap(err); inner != nil {
			collectDecodeErrors(inner, errs)
			return
		}
		errs.add("", err.Error())
		return
	}
	inner := de.Unwrap()
	if _, multi := inner.(interface{ Unwrap() []error }); multi {
		collectDecodeErrors(inner, errs)
		return
	}
	msg := inner.Error()
	if keys, ok := strings.CutPrefix(msg, "has invalid keys: "); ok {
		for _, key := range strings.Split(keys, ", ") {
			errs.add(de.Name()+"."+key, "unknown key")
		}
		return
	}
	errs.add(de.Name(), decodeMessage(inner))
}

// decodeMessage rewords mapstructure's leaf errors for people who write TOML.
func decodeMessage(err error) string {
	var pe *mapstructure.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("%q is not a valid %s", fmt.Sprint(pe.Value), pe.Expected.Type())
	}
	var ne *strconv.NumError
	if errors.As(err, &ne) {
		return fmt.Sprintf("%q is not %s", ne.Num, numErrorKind(ne))
	}
	var ue *mapstructure.UnconvertibleTypeError
	if errors.As(err, &ue) {
		return fmt.Sprintf("must be %s, not %s", describeType(ue.Expected.Type()), describe(ue.Value))
	}
	if strings.HasPrefix(err.Error(), "time: ") {
		return fmt.Sprintf("not a duration such as \"250ms\" or \"1m30s\" (%v)", err)
	}
	return err.Error()
}

// numErrorKind names what a failed strconv parse expected.
func numErrorKind(ne *strconv.NumError) string {
	switch {
	case errors.Is(ne.Err, strconv.ErrRange):
		return "in range for this key"
	case ne.Func == "ParseBool":
		return "a boolean (true or false)"
	case strings.HasPrefix(ne.Func, "ParseFloat"):
		return "a number"
	default:
		return "an integer"
	}
}

// describeType names a Go type the way a TOML author thinks of it.
func describeType(t reflect.Type) string {
	if t == reflect.TypeFor[time.Duration]() {
		return "a duration"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Slice:
		return "an array"
	default:
		return "a table"
	}
}

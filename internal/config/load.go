package config

import (
	"errors"
	"fmt"
	"io/fs"
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
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
)

// keyDelim separates key levels inside koanf. It is a control character so that connection
// names, field names and JSON pointers used as keys may contain dots.
const keyDelim = "\x1f"

// Load reads the TOML file at path, applies the BRIDGE_* overrides found in environ (in
// os.Environ form), resolves *_file secrets and schema files (relative paths are relative to the
// file's directory) and validates the result. Every problem is reported at once: the returned
// error wraps an *Errors unless the file could not be read (an error matching fs.ErrNotExist
// when it does not exist) or parsed (a *SyntaxError). The error names path.
func Load(path string, environ []string) (*Config, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &missingFileError{path: path}
	}
	if err != nil {
		return nil, fmt.Errorf("config %s: cannot be read: %w", path, errors.Unwrap(err))
	}
	cfg, err := load(b, environ, filepath.Dir(path))
	var syntax *SyntaxError
	switch {
	case err == nil:
		return cfg, nil
	case errors.As(err, &syntax):
		syntax.File = path
		return nil, syntax
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
	return load(b, environ, "")
}

func load(src []byte, environ []string, baseDir string) (*Config, error) {
	k := koanf.New(keyDelim)
	if err := k.Load(rawbytes.Provider(src), toml.Parser()); err != nil {
		return nil, newSyntaxError(src, err)
	}
	vars := bridgeVars(environ)
	errs := &Errors{}
	tree, origins := envOverrides(vars, k.Raw(), errs)
	if err := k.Load(mapProvider(tree), nil); err != nil {
		return nil, fmt.Errorf("read environment: %w", err)
	}
	cfg, pipelineOrigins := decode(k.Raw(), pipelineOverrides(vars), errs)
	origins = append(origins, pipelineOrigins...)
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
	nameVariables(errs, origins)
	if err := errs.err(); err != nil {
		return nil, err
	}
	return cfg, nil
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

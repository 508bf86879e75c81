package mapping

import (
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"time"
)

// jsonValue converts a static value, as a TOML decoder or a program gives it, into a JSON
// value that both encoding/json and gojq accept: nil, bool, string, json.Number, []any and
// map[string]any. The conversions, chosen once here:
//
//   - integers and floats become JSON numbers, exactly as written (an int64 keeps every digit);
//     NaN and infinities have no JSON form and are rejected;
//   - time.Time (a TOML offset datetime) becomes an RFC 3339 string with its offset and
//     fractional seconds as given: "1979-05-27T07:32:00.5-08:00";
//   - other values with a text form, such as TOML's local datetime, local date and local time,
//     become that text: "1979-05-27T07:32:00", "1979-05-27", "07:32:00";
//   - arrays and slices become arrays, tables and maps with string keys become objects,
//     converted element by element.
//
// at names the value in error messages, e.g. `static["when"]`.
func jsonValue(v any, at string) (any, error) {
	switch x := v.(type) {
	case nil, bool, string:
		return x, nil
	case json.Number:
		if _, err := strconv.ParseFloat(string(x), 64); err != nil {
			return nil, &OptionError{Key: at, Msg: fmt.Sprintf("%q is not a number", string(x))}
		}
		return x, nil
	case time.Time:
		return x.Format(time.RFC3339Nano), nil
	case float64:
		return floatValue(x, at)
	case float32:
		return floatValue(float64(x), at)
	case encoding.TextMarshaler:
		b, err := x.MarshalText()
		if err != nil {
			return nil, &OptionError{Key: at, Msg: err.Error()}
		}
		return string(b), nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := jsonValue(e, fmt.Sprintf("%s[%d]", at, i))
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for _, k := range sortedKeys(x) {
			c, err := jsonValue(x[k], fmt.Sprintf("%s[%q]", at, k))
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	}
	return reflectValue(reflect.ValueOf(v), at)
}

// reflectValue converts the integer kinds and other slice and map types.
func reflectValue(rv reflect.Value, at string) (any, error) {
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return json.Number(strconv.FormatInt(rv.Int(), 10)), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return json.Number(strconv.FormatUint(rv.Uint(), 10)), nil
	case reflect.Slice, reflect.Array:
		elems := make([]any, rv.Len())
		for i := range elems {
			elems[i] = rv.Index(i).Interface()
		}
		return jsonValue(elems, at)
	case reflect.Map:
		if rv.Type().Key().Kind() == reflect.String {
			m := make(map[string]any, rv.Len())
			for _, k := range rv.MapKeys() {
				m[k.String()] = rv.MapIndex(k).Interface()
			}
			return jsonValue(m, at)
		}
	}
	return nil, &OptionError{Key: at, Msg: fmt.Sprintf("a %s has no JSON form", rv.Type())}
}

func floatValue(f float64, at string) (any, error) {
	switch {
	case math.IsNaN(f):
		return nil, &OptionError{Key: at, Msg: "nan has no JSON form"}
	case math.IsInf(f, 1):
		return nil, &OptionError{Key: at, Msg: "inf has no JSON form"}
	case math.IsInf(f, -1):
		return nil, &OptionError{Key: at, Msg: "-inf has no JSON form"}
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

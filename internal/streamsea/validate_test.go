package streamsea

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func loadGoldenSchema(t testing.TB) *Schema {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "validate", "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSchema(b)
	if err != nil {
		t.Fatalf("golden schema: %v", err)
	}
	return s
}

func newGoldenValidator(t testing.TB) *Validator {
	t.Helper()
	v, err := NewValidator(loadGoldenSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// problemLines renders a Validate result as the golden .want files hold it: "ok", or one
// problem per line followed by "and N more" when problems were omitted.
func problemLines(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return "ok"
	}
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error is %T, want *ValidationError: %v", err, err)
	}
	var lines []string
	for _, p := range verr.Problems {
		lines = append(lines, p.String())
	}
	if verr.Omitted > 0 {
		lines = append(lines, "and "+strconv.Itoa(verr.Omitted)+" more")
	}
	return strings.Join(lines, "\n")
}

func TestValidateGolden(t *testing.T) {
	v := newGoldenValidator(t)
	payloads, err := filepath.Glob(filepath.Join("testdata", "validate", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	cases := 0
	for _, path := range payloads {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		if name == "schema" {
			continue
		}
		cases++
		t.Run(name, func(t *testing.T) {
			payload, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(path, ".json") + ".want")
			if err != nil {
				t.Fatal(err)
			}
			verr := v.Validate(payload)
			if got := problemLines(t, verr); got != strings.TrimSpace(string(want)) {
				t.Errorf("Validate:\n got: %s\nwant: %s", got, want)
			}
			// The full walk alone, without the quick check, gives the same verdict.
			if got := problemLines(t, v.walk(payload)); got != strings.TrimSpace(string(want)) {
				t.Errorf("walk:\n got: %s\nwant: %s", got, want)
			}
			if verr == nil && !json.Valid(payload) {
				t.Errorf("accepted a payload that encoding/json rejects")
			}
			checkSyntaxAgreement(t, payload, verr)
		})
	}
	if cases < 50 {
		t.Fatalf("found %d golden cases, want at least 50", cases)
	}
}

// checkSyntaxAgreement fails when Validate's well-formedness verdict differs from json.Valid.
func checkSyntaxAgreement(t testing.TB, payload []byte, err error) {
	t.Helper()
	var verr *ValidationError
	syntax := errors.As(err, &verr) && verr.syntax
	if syntax == json.Valid(payload) {
		t.Errorf("syntax error reported: %v, json.Valid: %v, payload %q", syntax, json.Valid(payload), payload)
	}
}

func TestValidationErrorText(t *testing.T) {
	tests := []struct {
		name string
		err  *ValidationError
		want string
	}{
		{"one", &ValidationError{Problems: []Problem{{Path: "moves[3].load", Message: "expected string, got number"}}},
			"moves[3].load: expected string, got number"},
		{"root and field", &ValidationError{Problems: []Problem{{Message: "expected object, got array"}, {Path: "a", Message: "missing field"}}},
			"payload: expected object, got array; a: missing field"},
		{"omitted", &ValidationError{Problems: []Problem{{Path: "a", Message: "m"}}, Omitted: 7},
			"a: m; and 7 more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidateProblemCap(t *testing.T) {
	s := &Schema{Name: "s", Fields: []Field{{Name: "xs", Type: TypeIntegerArray}}}
	v, err := NewValidator(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{MaxProblems - 1, MaxProblems, MaxProblems + 1, 1000} {
		payload := `{"xs":[` + strings.TrimSuffix(strings.Repeat(`"x",`, n), ",") + `]}`
		var verr *ValidationError
		if !errors.As(v.Validate([]byte(payload)), &verr) {
			t.Fatalf("n=%d: want a *ValidationError", n)
		}
		if len(verr.Problems) != min(n, MaxProblems) || verr.Omitted != max(0, n-MaxProblems) {
			t.Errorf("n=%d: %d problems, %d omitted", n, len(verr.Problems), verr.Omitted)
		}
	}
}

func TestValidateManyFields(t *testing.T) {
	// More than 64 fields exercises the allocated seen-set.
	s := &Schema{Name: "wide"}
	var payload strings.Builder
	payload.WriteString("{")
	for i := range 70 {
		s.Fields = append(s.Fields, Field{Name: "f" + strconv.Itoa(i), Type: TypeInteger})
		if i != 3 && i != 68 {
			if payload.Len() > 1 {
				payload.WriteString(",")
			}
			payload.WriteString(`"f` + strconv.Itoa(i) + `":` + strconv.Itoa(i))
		}
	}
	payload.WriteString(`,"f69":1}`)
	v, err := NewValidator(s)
	if err != nil {
		t.Fatal(err)
	}
	got := v.Validate([]byte(payload.String()))
	want := "f69: duplicate field; f3: missing field; f68: missing field"
	if got == nil || got.Error() != want {
		t.Errorf("Validate = %v, want %s", got, want)
	}
}

func TestNewValidatorRejectsBadSchema(t *testing.T) {
	_, err := NewValidator(&Schema{Name: "s", Fields: []Field{{Name: "a", Type: "strng"}}})
	var serr *SchemaError
	if !errors.As(err, &serr) {
		t.Fatalf("NewValidator = %v, want *SchemaError", err)
	}
}

func TestWholeNumber(t *testing.T) {
	tests := []struct {
		num   string
		want  int64
		class numberClass
	}{
		{"0", 0, numberWhole},
		{"-0", 0, numberWhole},
		{"3", 3, numberWhole},
		{"3.0", 3, numberWhole},
		{"3.000e0", 3, numberWhole},
		{"1e3", 1000, numberWhole},
		{"1E+3", 1000, numberWhole},
		{"30e-1", 3, numberWhole},
		{"0.5e1", 5, numberWhole},
		{"1200e-2", 12, numberWhole},
		{"0.0e-99999999999999999999", 0, numberWhole},
		{"9223372036854775807", 9223372036854775807, numberWhole},
		{"-9223372036854775808", -9223372036854775808, numberWhole},
		{"922337203685477580.7e1", 9223372036854775807, numberWhole},
		{"3.5", 0, numberFraction},
		{"1e-1", 0, numberFraction},
		{"-0.001", 0, numberFraction},
		{"1234567890123456789012e-3", 0, numberFraction},
		{"9223372036854775808", 0, numberOutOfRange},
		{"-9223372036854775809", 0, numberOutOfRange},
		{"1e19", 0, numberOutOfRange},
		{"1e999999999999999999999", 0, numberOutOfRange},
		{"10000000000000000000", 0, numberOutOfRange},
		{"99999999999999999999", 0, numberOutOfRange},
	}
	for _, tt := range tests {
		t.Run(tt.num, func(t *testing.T) {
			if !json.Valid([]byte(tt.num)) {
				t.Fatalf("test input %q is not a JSON number", tt.num)
			}
			got, class := wholeNumber([]byte(tt.num))
			if got != tt.want || class != tt.class {
				t.Errorf("wholeNumber(%s) = %d, %d; want %d, %d", tt.num, got, class, tt.want, tt.class)
			}
		})
	}
}

// TestSmallIntegerAgreesWithWholeNumber checks the fast path of integer fields: whatever it
// accepts, wholeNumber classifies as a whole number within int64, and near the limits of
// int64 it accepts exactly what wholeNumber does.
func TestSmallIntegerAgreesWithWholeNumber(t *testing.T) {
	nums := []string{"0", "-0", "7", "-7", "123456789012345678", "-123456789012345678",
		"1000000000000000000", "9223372036854775806", "9223372036854775807", "9223372036854775808",
		"-9223372036854775807", "-9223372036854775808", "-9223372036854775809", "9999999999999999999",
		"-9999999999999999999", "10000000000000000000", "1.5", "1e3", "-2.0"}
	for _, num := range nums {
		_, class := wholeNumber([]byte(num))
		small := smallInteger([]byte(num))
		digitsOnly := strings.Trim(num, "-0123456789") == ""
		if small && class != numberWhole || digitsOnly && small != (class == numberWhole) {
			t.Errorf("smallInteger(%s) = %v, wholeNumber class %d", num, small, class)
		}
	}
}

func TestValidDate(t *testing.T) {
	tests := []struct {
		date string
		want bool
	}{
		{"2024-02-29T12:00:00Z", true},
		{"2000-02-29T00:00:00Z", true},
		{"1999-12-31T23:59:59Z", true},
		{"2024-04-30T00:00:00Z", true},
		{"2024-02-30T00:00:00Z", false},
		{"2023-02-29T00:00:00Z", false},
		{"2100-02-29T00:00:00Z", false},
		{"2024-04-31T00:00:00Z", false},
		{"2024-00-10T00:00:00Z", false},
		{"2024-01-01T00:60:00Z", false},
		{"2024-01-01T00:00:60Z", false},
		{"2024-01-01T24:00:00Z", false},
		{"2024-01-01T00:00:00z", false},
		{"2024-01-01t00:00:00Z", false},
		{"2024-01-01T00:00:00.0Z", false},
		{"2024-01-01T00:00:00+00:00", false},
		{"2024-1-01T00:00:00Z", false},
		{"2024-01-01T0a:00:00Z", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.date, func(t *testing.T) {
			if got := validDate([]byte(tt.date)); got != tt.want {
				t.Errorf("validDate(%q) = %v, want %v", tt.date, got, tt.want)
			}
		})
	}
}

// TestWellFormedMatchesEncodingJSON cross-checks the scanner against json.Valid.
func TestWellFormedMatchesEncodingJSON(t *testing.T) {
	inputs := []string{
		``, ` `, `{}`, `[]`, `{"a":1}`, `{"a":1,}`, `[1,]`, `[,1]`, `{,}`, `{"a"}`, `{"a":}`, `{1:2}`,
		`"x"`, `"x`, `"\x"`, `"\u12"`, `"\u12G4"`, `"\uD800"`, "\"\x01\"", "\"\x7f\"", "\"\xff\xfe\"",
		`"\/\b\f\n\r\t\"\\"`, `0`, `-0`, `01`, `-`, `1.`, `.1`, `1e`, `1e+`, `1E-7`, `-1.5e+10`, `+1`,
		`true`, `tru`, `truex`, `nul`, `null `, ` null`, "\tnull\r\n", `nullnull`, `[true false]`,
		`{"a":1 "b":2}`, `{"a":[{"b":[]}]}`, `[[[[]]]]`, `[[[[]]]`, `{}}`, `{}{}`, "\ufeff{}", `NaN`, `Infinity`,
		"{\"a\":\x00}", `[1 , 2 ,3]`, `{ "a" : { } }`, `"\u00e9"`, `1e999`,
	}
	for _, in := range inputs {
		if got, want := wellFormed([]byte(in)), json.Valid([]byte(in)); got != want {
			t.Errorf("wellFormed(%q) = %v, json.Valid = %v", in, got, want)
		}
	}
	for _, depth := range []int{maxJSONDepth - 1, maxJSONDepth, maxJSONDepth + 1} {
		for _, open := range []string{"[", `{"a":`} {
			closer := map[string]string{"[": "]", `{"a":`: "}"}[open]
			in := strings.Repeat(open, depth) + "1" + strings.Repeat(closer, depth)
			if got, want := wellFormed([]byte(in)), json.Valid([]byte(in)); got != want {
				t.Errorf("depth %d of %s: wellFormed = %v, json.Valid = %v", depth, open, got, want)
			}
		}
	}
}

// checkQuickSkip fails when quickSkip accepts a value that skipValueSlow rejects or ends
// elsewhere, with depth levels of nesting allowed.
func checkQuickSkip(t testing.TB, in []byte, depth int) {
	t.Helper()
	end, quick := quickSkip(in, 0, depth)
	if !quick {
		return
	}
	s := jsonScanner{b: in}
	if !s.skipValueSlow(maxJSONDepth-depth) || s.pos != end {
		t.Errorf("quickSkip(%.80q) ended at %d; the token scanner: ok %v at %d (%v)", in, end, s.err == nil, s.pos, s.err)
	}
}

func TestQuickSkipAgreesWithTheScanner(t *testing.T) {
	inputs := []string{`{}`, `[]`, `{"a":1}`, `{"a":1,}`, `[1,]`, `{"a":[{"b":[]}]}`, `[[[[]]]`, `{}}`,
		`{ "a" : { } , "b":[ 1 ,"x\"\u00e9",true,false,null,-1.5e+3]}`, `"\u12G4"`, `"\x"`, "\"\x01\"",
		`{"a" 1}`, `{0":null}`, `{"a":1 "b":2}`, `[1 2]`, `nul`, `01`, `1.`, `{"a":}`, `{1:2}`, `[}`, `{]`}
	for _, in := range inputs {
		for _, depth := range []int{0, 1, 2, 3, quickSkipDepth, maxJSONDepth} {
			checkQuickSkip(t, []byte(in), depth)
		}
	}
	for _, open := range []string{"[", `{"a":`} {
		closer := map[string]string{"[": "]", `{"a":`: "}"}[open]
		for _, inner := range []string{"1", "[]", "{}"} {
			for depth := quickSkipDepth - 2; depth <= quickSkipDepth+2; depth++ {
				in := []byte(strings.Repeat(open, depth) + inner + strings.Repeat(closer, depth))
				for _, allowed := range []int{depth - 1, depth, depth + 1, maxJSONDepth} {
					checkQuickSkip(t, in, allowed)
				}
			}
		}
	}
}

// TestValidateDepthMatchesEncodingJSON checks the nesting limit along the schema-driven path
// and inside skipped unknown values.
func TestValidateDepthMatchesEncodingJSON(t *testing.T) {
	s := &Schema{Name: "s", Fields: []Field{{Name: "o", Type: TypeObject, Fields: []Field{{Name: "x", Type: TypeFloat}}}}}
	v, err := NewValidator(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, depth := range []int{maxJSONDepth - 3, maxJSONDepth - 2, maxJSONDepth - 1} {
		nested := strings.Repeat("[", depth) + strings.Repeat("]", depth)
		for _, payload := range []string{
			`{"o":{"x":` + nested + `}}`,
			`{"o":{"x":1,"y":` + nested + `}}`,
		} {
			checkSyntaxAgreement(t, []byte(payload), v.Validate([]byte(payload)))
		}
	}
}

// TestQuickCheckDecidesTheCommonForm checks which valid payloads the quick check accepts
// itself: those in schema order, compactly keyed, with null, arrays and nested objects; and
// which it leaves to the walk: other member orders, escapes, whitespace before a colon,
// integers written as 3.0, and anything invalid.
func TestQuickCheckDecidesTheCommonForm(t *testing.T) {
	v, err := NewValidator(&Schema{Name: "s", Version: 1, Fields: []Field{
		{Name: "id", Type: TypeInteger}, {Name: "name", Type: TypeString},
		{Name: "kind", Type: TypeEnum, Enum: []string{"a", "b"}}, {Name: "at", Type: TypeDate},
		{Name: "xs", Type: TypeFloatArray},
		{Name: "o", Type: TypeObject, Fields: []Field{{Name: "k", Type: TypeString}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		payload string
		quick   bool
	}{
		{`{"id":1,"name":"n","kind":"a","at":"2026-01-02T03:04:05Z","xs":[1.5,-2e3],"o":{"k":"v"}}`, true},
		{` { "id": 1 , "name":"n","kind":"b","at":null,"xs":[ ],"o":null } `, true},
		{`{"id":-9223372036854775808,"name":"\u00e9","kind":"a","at":null,"xs":null,"o":null}`, false},
		{`{"name":"n","id":1,"kind":"a","at":null,"xs":null,"o":null}`, false},
		{`{"id" :1,"name":"n","kind":"a","at":null,"xs":null,"o":null}`, false},
		{`{"id":3.0,"name":"n","kind":"a","at":null,"xs":null,"o":null}`, false},
		{`{"id":1,"name":"n","kind":"c","at":null,"xs":null,"o":null}`, false},
		{`{"id":1,"name":"n","kind":"a","at":null,"xs":[null],"o":null}`, false},
		{`{"id":1,"name":"n","kind":"a","at":null,"xs":null,"o":null,"extra":1}`, false},
		{`{"id":1,"name":"n","kind":"a","at":null,"xs":null}`, false},
		{`{"id":9223372036854775808,"name":"n","kind":"a","at":null,"xs":null,"o":null}`, false},
		{`{"id":1,"name":"n","kind":"a","at":"2026-02-30T00:00:00Z","xs":null,"o":null}`, false},
		{`{"id":1,"name":"n","kind":"a","at":null,"xs":null,"o":null} x`, false},
	}
	for _, c := range cases {
		p := []byte(c.payload)
		if got := v.root.quickValid(p); got != c.quick {
			t.Errorf("quickValid(%s) = %v, want %v", c.payload, got, c.quick)
		}
		if c.quick && v.walk(p) != nil {
			t.Errorf("the walk rejects %s, which the quick check accepts: %v", c.payload, v.walk(p))
		}
	}
}

func TestValidateZeroAllocs(t *testing.T) {
	for _, dir := range []string{"validate", "validate_bench"} {
		v, payload := loadBenchCase(t, dir)
		if err := v.Validate(payload); err != nil {
			t.Fatalf("%s: payload invalid: %v", dir, err)
		}
		if allocs := testing.AllocsPerRun(100, func() { _ = v.Validate(payload) }); allocs != 0 {
			t.Errorf("%s: Validate allocates %.1f times per valid payload, want 0", dir, allocs)
		}
	}
}

// loadBenchCase returns the validator of testdata/<dir>/schema.json and a valid payload:
// testdata/validate/ok_base.json or testdata/validate_bench/payload.json.
func loadBenchCase(t testing.TB, dir string) (*Validator, []byte) {
	t.Helper()
	name := "payload.json"
	if dir == "validate" {
		name = "ok_base.json"
	}
	schema, err := os.ReadFile(filepath.Join("testdata", dir, "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := os.ReadFile(filepath.Join("testdata", dir, name))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSchema(schema)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewValidator(s)
	if err != nil {
		t.Fatal(err)
	}
	return v, payload
}

// BenchmarkValidate checks a 309-byte payload with eight fields, one an array<object>.
func BenchmarkValidate(b *testing.B) {
	v, payload := loadBenchCase(b, "validate_bench")
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Validate(payload); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMemberKeyMatches compares memberKey.matches with a plain prefix test for keys of every
// length up to 20 bytes, each byte changed in turn, with and without bytes after the key.
func TestMemberKeyMatches(t *testing.T) {
	for n := 1; n <= 20; n++ {
		k := newMemberKey(strings.Repeat("k", n-1) + "z")
		for _, rest := range []string{"", "1", `1,"x":2}`} {
			exact := k.text + rest
			inputs := []string{exact, exact[:len(k.text)-1]}
			for i := range len(k.text) {
				changed := []byte(exact)
				changed[i] ^= 0x20
				inputs = append(inputs, string(changed))
			}
			for _, in := range inputs {
				if got, want := k.matches([]byte(in)), strings.HasPrefix(in, k.text); got != want {
					t.Errorf("key %q, input %q: matches = %v, want %v", k.text, in, got, want)
				}
			}
		}
	}
}

// TestWordScansMatchByteLoops compares skipPlainString and skipDigitsAt, which test eight
// bytes at a time, with byte-at-a-time loops: every byte value at every position of inputs
// of every length up to 20, after runs of ordinary bytes.
func TestWordScansMatchByteLoops(t *testing.T) {
	plainEnd := func(b []byte, i int) int {
		for i < len(b) && b[i] >= 0x20 && b[i] != '"' && b[i] != '\\' {
			i++
		}
		return i
	}
	digitsEnd := func(b []byte, i int) int {
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		return i
	}
	for n := 0; n <= 20; n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				text, digits := []byte(strings.Repeat("a\xc3\xa9", 7)[:n]), []byte(strings.Repeat("7", n))
				text[pos], digits[pos] = byte(c), byte(c)
				if got, want := skipPlainString(text, 0), plainEnd(text, 0); got != want {
					t.Fatalf("skipPlainString(%q) = %d, want %d", text, got, want)
				}
				if got, want := skipDigitsAt(digits, 0), digitsEnd(digits, 0); got != want {
					t.Fatalf("skipDigitsAt(%q) = %d, want %d", digits, got, want)
				}
			}
		}
	}
}

package mapping

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"time"

	"github.com/itchyny/gojq"
)

// Limits of one jq evaluation. A message whose evaluation breaks one is poison: the reason
// names the limit, the pipeline goes on with the next message.
//
// The time limit is checked by gojq before each instruction, so it ends every loop and every
// recursion (repeat, range(1e18), until, while, recurse, limit(1e9; ...), def f: f; f) and
// bounds the memory they can grow. One builtin call runs to its end once started; the calls
// whose cost is set by a number rather than by the size of a value are guarded here: a
// string repetition ("-" * .n) may not make more than the byte limit. The outputs are
// checked for size, count and nesting depth before they are encoded, so that encoding them
// can neither exhaust memory nor overflow the stack.
const (
	DefaultJQTimeout  = time.Second // jq_timeout: the most one message's evaluation may take
	DefaultJQMaxBytes = 16 << 20    // jq_max_bytes: the most bytes one message's outputs may hold together

	maxJQOutputs = 100000 // the most messages jq may make of one
	maxJQDepth   = 10000  // the deepest nesting of an output (encoding/json's limit when decoding)
	maxJQDigits  = 10000  // the most decimal digits of an integer in an output
)

// multiplyFunc replaces jq's * operator so that a string repetition is checked against the
// byte limit before it is made. The name cannot collide with a jq function a user writes.
const multiplyFunc = "_seabridge_multiply"

// factorVar holds the right operand of *=; '%' makes it a name no jq text can spell.
const factorVar = "$%seabridge_factor"

// multiply is jq's own * operator, which multiplyFunc hands every case but a string repetition.
var multiply = func() *gojq.Code {
	q, err := gojq.Parse(".[0] * .[1]")
	if err != nil {
		panic(err)
	}
	c, err := gojq.Compile(q)
	if err != nil {
		panic(err)
	}
	return c
}()

// jqProgram is a compiled jq expression with the limits of one evaluation.
type jqProgram struct {
	code     *gojq.Code
	timeout  time.Duration
	maxBytes int
}

// limitError says that a jq evaluation broke one of its limits.
type limitError struct{ Reason string }

func (e *limitError) Error() string { return "jq: " + e.Reason }

func compileJQ(expr string, timeout time.Duration, maxBytes int) (*jqProgram, error) {
	q, err := gojq.Parse(expr)
	if err != nil {
		return nil, err
	}
	guardMultiplications(reflect.ValueOf(q))
	p := &jqProgram{timeout: timeout, maxBytes: maxBytes}
	p.code, err = gojq.Compile(q, gojq.WithFunction(multiplyFunc, 2, 2, p.multiply))
	if err != nil {
		return nil, err
	}
	return p, nil
}

// run evaluates the program on doc and returns each output encoded as JSON.
func (p *jqProgram) run(doc any) ([][]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	iter := p.code.RunWithContext(ctx, doc)
	var outs [][]byte
	total := 0
	for {
		v, ok := iter.Next()
		if !ok {
			return outs, nil
		}
		if err, ok := v.(error); ok {
			if errors.Is(err, context.DeadlineExceeded) {
				return nil, &limitError{fmt.Sprintf("evaluation took longer than jq_timeout (%s)", p.timeout)}
			}
			if le := (*limitError)(nil); errors.As(err, &le) {
				return nil, le
			}
			// Some gojq errors format their value lazily; render the text here, where a
			// panic while doing so is still caught, instead of handing on the error.
			return nil, errors.New("jq: " + errorText(err))
		}
		if len(outs) == maxJQOutputs {
			return nil, &limitError{fmt.Sprintf("more than %d outputs", maxJQOutputs)}
		}
		b, err := p.encode(v, p.maxBytes-total)
		if err != nil {
			return nil, err
		}
		total += len(b)
		outs = append(outs, b)
	}
}

// encode encodes v if its JSON text fits in budget bytes and its nesting and integers are
// within the limits; the checks come first so that nothing too large is ever built.
func (p *jqProgram) encode(v any, budget int) ([]byte, error) {
	if _, err := p.jsonSize(v, budget, 0); err != nil {
		return nil, err
	}
	b, err := gojq.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("jq output: %w", err)
	}
	if len(b) > budget {
		return nil, p.tooLarge()
	}
	return b, nil
}

func (p *jqProgram) tooLarge() error {
	return &limitError{fmt.Sprintf("outputs hold more than jq_max_bytes (%d bytes)", p.maxBytes)}
}

// jsonSize returns a lower bound of the length of v's JSON text. It stops with an error as
// soon as that bound passes budget, the nesting passes maxJQDepth or an integer has more
// than maxJQDigits digits, so that it visits at most about budget values.
func (p *jqProgram) jsonSize(v any, budget, depth int) (int, error) {
	n := 0
	switch v := v.(type) {
	case nil, bool:
		n = 4
	case string:
		n = len(v) + 2
	case *big.Int:
		// The digits of the decimal form: floor(bits * log10(2)) or one more.
		if digits := int(float64(v.BitLen()) * math.Log10(2)); digits > maxJQDigits {
			return 0, &limitError{fmt.Sprintf("an output holds an integer of more than %d digits", maxJQDigits)}
		} else {
			n = max(digits, 1)
		}
	case []any, map[string]any:
		if depth == maxJQDepth {
			return 0, &limitError{fmt.Sprintf("an output is nested deeper than %d levels", maxJQDepth)}
		}
		n = 2
		add := func(m int, err error) error {
			n += m + 1 // the value and a comma
			if err == nil && n > budget {
				err = p.tooLarge()
			}
			return err
		}
		if a, ok := v.([]any); ok {
			for _, e := range a {
				if err := add(p.jsonSize(e, budget-n, depth+1)); err != nil {
					return 0, err
				}
			}
		} else {
			for k, e := range v.(map[string]any) {
				n += len(k) + 3 // quotes and colon
				if err := add(p.jsonSize(e, budget-n, depth+1)); err != nil {
					return 0, err
				}
			}
		}
	default: // numbers
		n = 1
	}
	if n > budget {
		return 0, p.tooLarge()
	}
	return n, nil
}

// multiply is multiplyFunc: l * r, with a string repetition refused before it is made when
// its result would hold more than the byte limit.
func (p *jqProgram) multiply(_ any, args []any) any {
	str, count := args[0], args[1]
	if _, ok := count.(string); ok {
		str, count = count, str
	}
	if s, ok := str.(string); ok {
		// gojq repeats a string min(n, MaxInt32) times (and not at all when n < 0).
		if n, ok := gojq.ToFloat64(count); ok && n > 0 {
			if size := float64(len(s)) * math.Trunc(math.Min(n, math.MaxInt32)); size > float64(p.maxBytes) {
				return &limitError{fmt.Sprintf("a string repetition would make %.0f bytes, more than jq_max_bytes (%d bytes)", size, p.maxBytes)}
			}
		}
	}
	v, _ := multiply.Run(args).Next()
	return v
}

// guardMultiplications rewrites every a * b in the parsed query v into multiplyFunc(a; b),
// and every a *= b into b as $f | a |= multiplyFunc(.; $f), which is how jq defines *=.
// It walks every exported field, so that no kind of term is missed.
func guardMultiplications(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return
		}
		guardMultiplications(v.Elem())
		if q, ok := v.Interface().(*gojq.Query); ok {
			rewriteMultiplication(q)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				guardMultiplications(v.Field(i))
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			guardMultiplications(v.Index(i))
		}
	}
}

func rewriteMultiplication(q *gojq.Query) {
	call := func(l, r *gojq.Query) *gojq.Term {
		return &gojq.Term{Type: gojq.TermTypeFunc, Func: &gojq.Func{Name: multiplyFunc, Args: []*gojq.Query{l, r}}}
	}
	switch q.Op {
	case gojq.OpMul:
		q.Term = call(q.Left, q.Right)
		q.Left, q.Right, q.Op = nil, nil, 0
	case gojq.OpUpdateMul:
		target, factor := q.Left, q.Right
		identity := &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeIdentity}}
		variable := &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeFunc, Func: &gojq.Func{Name: factorVar}}}
		q.Op = gojq.OpPipe
		q.Left = factor
		q.Patterns = []*gojq.Pattern{{Name: factorVar}}
		q.Right = &gojq.Query{Left: target, Op: gojq.OpModify, Right: &gojq.Query{Term: call(identity, variable)}}
	}
}

package mapping

import (
	"fmt"
	"strings"
)

// projection is the compiled form of Options.Include: a tree of object members to keep. A
// node with keep set keeps its whole value; otherwise only its children are kept from it.
type projection struct {
	keep     bool
	children map[string]*projection
}

// newProjection builds the tree of include entries: top-level field names, or JSON pointers
// to members at any depth. It reports every bad entry.
func newProjection(include []string) (*projection, []error) {
	root := &projection{}
	var errs []error
	for i, f := range include {
		at := fmt.Sprintf("include[%d]", i)
		tokens := []string{f}
		switch {
		case f == "":
			errs = append(errs, &OptionError{Key: at, Msg: "must be a field name or a JSON pointer"})
			continue
		case strings.HasPrefix(f, "/"):
			p, err := parsePointer(f)
			if err != nil {
				errs = append(errs, &OptionError{Key: at, Msg: fmt.Sprintf("%q: %v", f, err)})
				continue
			}
			tokens = p.Tokens
		}
		n := root
		for _, tok := range tokens {
			if n.keep {
				break // an ancestor is kept whole already
			}
			if n.children == nil {
				n.children = map[string]*projection{}
			}
			child := n.children[tok]
			if child == nil {
				child = &projection{}
				n.children[tok] = child
			}
			n = child
		}
		n.keep, n.children = true, nil
	}
	return root, errs
}

// keeps reports whether the projection keeps the top-level field name, in whole or in part.
func (p *projection) keeps(name string) bool {
	_, ok := p.children[name]
	return ok
}

// apply returns the members of obj that p keeps. Pointers select object members only: a
// pointer that meets an array, a scalar or a missing member keeps nothing of it, and an
// object from which nothing is kept is left out.
func (p *projection) apply(obj map[string]any) map[string]any {
	out := make(map[string]any, len(p.children))
	for name, child := range p.children {
		v, ok := obj[name]
		if !ok {
			continue
		}
		if child.keep {
			out[name] = v
			continue
		}
		if sub, ok := v.(map[string]any); ok {
			if kept := child.apply(sub); len(kept) > 0 {
				out[name] = kept
			}
		}
	}
	return out
}

// rename is one compiled entry of Options.Rename.
type rename struct{ from, to string }

// newRenames checks the renames and returns them sorted by old name. Renames are applied all
// at once, so their order does not matter; that only holds when no field is renamed twice
// over (a chain), no two fields get the same name, and nothing else sets the new name. Each
// old name must also survive the projection, or the rename could never apply.
func newRenames(renames map[string]string, static map[string]any, include *projection) ([]rename, []error) {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, &OptionError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	byTarget := map[string]string{}
	out := make([]rename, 0, len(renames))
	for _, from := range sortedKeys(renames) {
		to, at := renames[from], fmt.Sprintf("rename[%q]", from)
		switch {
		case from == "":
			add("rename", "a field name must not be empty")
			continue
		case to == "":
			add(at, "must not be empty")
			continue
		case from == to:
			add(at, "renames %q to itself", from)
			continue
		}
		if next, chained := renames[to]; chained {
			add(at, "%q is renamed to %q, which is renamed too (to %q): rename each field straight to its final name", from, to, next)
		}
		if other, taken := byTarget[to]; taken {
			add(at, "%q and %q are both renamed to %q", other, from, to)
		}
		byTarget[to] = from
		if _, set := static[to]; set {
			add(at, "its new name %q is also set by static, which would overwrite it", to)
		}
		if include != nil && !include.keeps(from) {
			add(at, "%q is not kept by include, so it is never renamed", from)
		}
		out = append(out, rename{from: from, to: to})
	}
	return out, errs
}

// applyRenames renames the fields of obj all at once. A payload that holds both the old and
// the new name of a field is an error: renaming would lose one of the two values.
func applyRenames(obj map[string]any, renames []rename) error {
	moved := make([]any, len(renames))
	found := make([]bool, len(renames))
	for i, r := range renames {
		moved[i], found[i] = obj[r.from]
		if _, exists := obj[r.to]; found[i] && exists {
			return fmt.Errorf("rename %q to %q: the payload already has %q", r.from, r.to, r.to)
		}
	}
	for i, r := range renames {
		if found[i] {
			delete(obj, r.from)
		}
	}
	for i, r := range renames {
		if found[i] {
			obj[r.to] = moved[i]
		}
	}
	return nil
}

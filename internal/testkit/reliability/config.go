package reliability

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	toml "github.com/pelletier/go-toml/v2"
)

// Config is a bridge config as a tree of TOML tables (map[string]any, with []map[string]any
// for arrays of tables such as pipelines), written as a TOML file for `bridge run`. Raw is
// TOML text appended after it, for what a scenario wants to write by hand: it belongs to the
// last table written, normally the last pipeline, e.g. "[pipelines.mapping]\nstatic = ...".
type Config struct {
	Tree map[string]any
	Raw  string
}

// Set sets the value at a dotted path, creating tables on the way; a number selects an
// element of an array of tables ("pipelines.0.sink.topic"). It panics on a path that runs
// through a value that is not a table: a bug in the scenario.
func (c *Config) Set(path string, v any) {
	if c.Tree == nil {
		c.Tree = map[string]any{}
	}
	parts := strings.Split(path, ".")
	var cur any = c.Tree
	for i, p := range parts {
		last := i == len(parts)-1
		switch node := cur.(type) {
		case map[string]any:
			if last {
				node[p] = v
				return
			}
			next, ok := node[p]
			if !ok {
				next = map[string]any{}
				node[p] = next
			}
			cur = next
		case []map[string]any:
			idx, err := strconv.Atoi(p)
			if err != nil || idx < 0 || idx >= len(node) {
				panic(fmt.Sprintf("reliability: config path %q: %q is not an index of %d tables", path, p, len(node)))
			}
			if last {
				panic(fmt.Sprintf("reliability: config path %q: cannot replace a table of an array", path))
			}
			cur = node[idx]
		default:
			panic(fmt.Sprintf("reliability: config path %q runs through a %T", path, cur))
		}
	}
}

// Get returns the value at a dotted path, or nil.
func (c *Config) Get(path string) any {
	var cur any = c.Tree
	for _, p := range strings.Split(path, ".") {
		switch node := cur.(type) {
		case map[string]any:
			cur = node[p]
		case []map[string]any:
			idx, err := strconv.Atoi(p)
			if err != nil || idx < 0 || idx >= len(node) {
				return nil
			}
			cur = node[idx]
		default:
			return nil
		}
	}
	return cur
}

// TOML is the config as the file will hold it.
func (c *Config) TOML() (string, error) {
	b, err := toml.Marshal(c.Tree)
	if err != nil {
		return "", fmt.Errorf("reliability: marshal config: %w", err)
	}
	text := string(b)
	if c.Raw != "" {
		text += "\n" + c.Raw + "\n"
	}
	return text, nil
}

// Write writes the config to name in a fresh temporary directory and returns the path.
func (c *Config) Write(t testing.TB, name string) string {
	t.Helper()
	text, err := c.TOML()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatalf("reliability: write config: %v", err)
	}
	return path
}

package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.bad.err from the current output")

// TestGoldenBadConfigs loads each testdata/<name>.bad.toml and compares its error lines with
// testdata/<name>.bad.err exactly.
func TestGoldenBadConfigs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.bad.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden configs: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".bad.toml")
		t.Run(name, func(t *testing.T) {
			_, err := Load(file, nil)
			if err == nil {
				t.Fatal("Load accepted a bad configuration")
			}
			var list *Errors
			if !errors.As(err, &list) {
				t.Fatalf("Load: %v (not an *Errors)", err)
			}
			got := list.Error() + "\n"
			golden := strings.TrimSuffix(file, ".toml") + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

// TestGoldenLoadErrors loads testdata/load/<name>.toml (which may not exist) with the
// variables of <name>.env, one VAR=value a line, and compares the whole error text with
// <name>.err.
func TestGoldenLoadErrors(t *testing.T) {
	goldens, err := filepath.Glob(filepath.Join("testdata", "load", "*.err"))
	if err != nil || len(goldens) == 0 {
		t.Fatalf("no golden load errors: %v", err)
	}
	for _, golden := range goldens {
		base := strings.TrimSuffix(golden, ".err")
		t.Run(filepath.Base(base), func(t *testing.T) {
			var environ []string
			if b, err := os.ReadFile(base + ".env"); err == nil {
				environ = strings.Split(strings.TrimSpace(string(b)), "\n")
			}
			_, err := Load(base+".toml", environ)
			if err == nil {
				t.Fatal("Load accepted it")
			}
			got := err.Error() + "\n"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, _ := os.ReadFile(golden)
			if got != string(want) {
				t.Errorf("error differs from %s\n--- got\n%s--- want\n%s", golden, got, want)
			}
			if strings.Contains(got, "s3cr3t") {
				t.Errorf("the error shows a secret of the file")
			}
		})
	}
}

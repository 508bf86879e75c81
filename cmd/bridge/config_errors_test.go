package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestConfigErrorsGolden runs the commands that take --config with broken files and compares
// their exit codes and stderr with testdata/config_errors.golden: each names the file once,
// in the loader's words, with no prefix of its own.
func TestConfigErrorsGolden(t *testing.T) {
	devFlags := []string{"--kafka-port", "0", "--streamsea-port", "0", "--http", "127.0.0.1:0"}
	files := []string{"testdata/broken_syntax.toml", "testdata/bad.toml", "testdata/no_such_file.toml"}
	var got strings.Builder
	for _, file := range files {
		for _, args := range [][]string{
			append([]string{"dev", "--config", file}, devFlags...),
			{"tail", "kafka", "some.topic", "--config", file},
			{"send", "streamsea", "some_stream", "--config", file},
		} {
			var stdout, stderr bytes.Buffer
			code := run(args, nil, &stdout, &stderr)
			fmt.Fprintf(&got, "$ bridge %s\nexit %d\n%s\n", strings.Join(args, " "), code, stderr.String())
		}
	}
	golden := "testdata/config_errors.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want := readFile(t, golden); got.String() != want {
		t.Errorf("output differs from %s\n--- got\n%s--- want\n%s", golden, got.String(), want)
	}
}

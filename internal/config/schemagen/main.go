// Command schemagen writes the JSON Schema of the config file (config.JSONSchema) from
// config.example.toml; go generate ./internal/config runs it.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/seabridge/seabridge/internal/config"
)

func main() {
	example := flag.String("example", "config.example.toml", "the documented example config")
	out := flag.String("out", "docs/config.schema.json", "where to write the schema")
	flag.Parse()
	if err := run(*example, *out); err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}

func run(example, out string) error {
	text, err := os.ReadFile(example)
	if err != nil {
		return err
	}
	schema, err := config.JSONSchema(text)
	if err != nil {
		return err
	}
	return os.WriteFile(out, schema, 0o644)
}

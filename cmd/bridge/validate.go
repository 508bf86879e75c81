package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/seabridge/seabridge/internal/bridge"
)

const validateHelp = `Check a config file: syntax, unknown keys, types, references between sections, schemas and
mapping expressions. Every problem is reported at once, each naming the pipeline and the key.
Exit code 0 when valid, 2 when not.

With --connect, also reach every server the enabled pipelines use, read-only: each Kafka
connection's brokers (credentials included) and every topic named as a source, sink or
dead-letter topic; each stream-sea connection's REST API (credentials included) and, for
stream-sea sinks, how the server's schema version compares with the configured one. Nothing is
defined, published or committed. Exit code 1 when a check fails.`

func cmdValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("validate", "[--config FILE] [--connect] [--print]", validateHelp, stderr)
	path := fs.String("config", defaultConfigPath(), "config file (TOML); default $BRIDGE_CONFIG or ./bridge.toml")
	connect := fs.Bool("connect", false, "also reach every server and check credentials, topics and schemas")
	print := fs.Bool("print", false, "print the effective config (defaults and environment applied, secrets redacted)")
	timeout := fs.Duration("timeout", 15*time.Second, "with --connect: time allowed for all checks")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	if *print {
		fmt.Fprint(stdout, cfg.String())
	}
	enabled := 0
	for _, p := range cfg.Pipelines {
		if p.Enabled {
			enabled++
		}
	}
	fmt.Fprintf(stdout, "%s: valid (%d pipelines, %d enabled)\n", *path, len(cfg.Pipelines), enabled)
	if !*connect {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	failures := 0
	for _, c := range bridge.ConnectChecks(cfg, version) {
		detail, err := c.Run(cctx)
		if err != nil {
			failures++
			fmt.Fprintf(stdout, "FAIL  %s: %v\n", c.Name, err)
			continue
		}
		fmt.Fprintf(stdout, "ok    %s%s\n", c.Name, detail)
	}
	if failures > 0 {
		return fmt.Errorf("validate --connect: %d check(s) failed", failures)
	}
	return nil
}

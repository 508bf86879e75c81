package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

const probeHelp = `Probe an HTTP health endpoint and exit 0 when it answers 2xx, 1 otherwise (2 for a
malformed URL or flag). It exists for container healthchecks in images without a shell or
curl, e.g.
  bridge probe --url http://127.0.0.1:9464/readyz
  bridge probe --url http://127.0.0.1:3104/emulator/healthz`

func cmdProbe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("probe", "--url URL", probeHelp, stderr)
	url := fs.String("url", "http://127.0.0.1:9464/livez", "endpoint to probe")
	timeout := fs.Duration("timeout", 3*time.Second, "time allowed for the request")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return usageError{fmt.Errorf("probe: %w", err)}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", *url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("probe %s: %s", *url, resp.Status)
	}
	fmt.Fprintf(stdout, "%s: %s\n", *url, resp.Status)
	return nil
}

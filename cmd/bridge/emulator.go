package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/seabridge/seabridge/internal/streamsea/emulator"
)

const emulatorHelp = `Serve an in-memory stream-sea 4.x server: the REST API under /api/v1, the websocket
endpoint /api/v1/streams, /emulator/stats, /emulator/healthz and /emulator/faults (inject 500s, 429/503 with
Retry-After, latency or hung requests; see docs/emulator.md). Everything lives in memory and is lost at exit,
unless --data names a directory: jails, clients and schemas are then kept there across restarts (messages
never are).
Credentials come from --clients (see docs/emulator.md for the file format) or, without it, from
--client-id and --client-secret. Stops on SIGINT/SIGTERM.`

func cmdEmulator(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlagSet("emulator", "[flags]", emulatorHelp, stderr)
	listen := fs.String("listen", "127.0.0.1:3104", "listen address (host:port); 3104 is stream-sea's usual local port")
	clientsFile := fs.String("clients", "", "file of client credentials and jails (docs/emulator.md)")
	clientID := fs.String("client-id", "bridge", "client id accepted when --clients is not given")
	clientSecret := fs.String("client-secret", "bridge-secret", "client secret accepted when --clients is not given")
	ping := fs.Duration("ping-interval", 25*time.Second, "interval of the server's websocket pings")
	queue := fs.Int("queue-size", 4096, "frames queued per subscriber before the slow-subscriber policy applies")
	slow := fs.String("slow-subscriber", "drop", "policy for a subscriber whose queue is full: drop, disconnect or block")
	dataDir := fs.String("data", "", "directory that keeps jails, clients and schemas across restarts (created if needed); "+
		"once it holds a state, the clients flags and file only seed it")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "text or json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	logger, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	clients := []emulator.Client{{ID: *clientID, Secret: *clientSecret}}
	if *clientsFile != "" {
		if clients, err = emulator.LoadClientsFile(*clientsFile); err != nil {
			return usageError{fmt.Errorf("emulator: %w", err)}
		}
	}
	srv, err := emulator.New(emulator.Options{
		Addr: *listen, Clients: clients, PingInterval: *ping, QueueSize: *queue,
		SlowSubscriber: *slow, Logger: logger, DataDir: *dataDir,
	})
	if err != nil {
		return usageError{fmt.Errorf("emulator: %w", err)}
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	logger.Info("stream-sea emulator serving", "rest", srv.URL()+"/api/v1", "websocket", srv.WSURL()+"/api/v1/streams",
		"stats", srv.URL()+"/emulator/stats", "clients", len(clients))
	<-ctx.Done()
	logger.Info("stream-sea emulator stopping")
	if err := srv.Close(); err != nil {
		return fmt.Errorf("emulator: close: %w", err)
	}
	return nil
}

package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/seabridge/seabridge/internal/bridge"
	"github.com/seabridge/seabridge/internal/config"
)

// notifyHUP starts catching SIGHUP, whose default action would end the process: call it
// before anything else a command does. stop ends the catching.
func notifyHUP() (hup <-chan os.Signal, stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	return ch, func() { signal.Stop(ch) }
}

// reloadOnHUP reloads a with load at each signal of hup until ctx ends, then closes the
// returned channel. Reload logs what it applied or why it rejected the config. With a nil
// load (an embedded config) a signal is logged and ignored.
func reloadOnHUP(ctx context.Context, hup <-chan os.Signal, a *bridge.App, logger *slog.Logger, file string,
	load func() (*config.Config, error)) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if load == nil {
					logger.Warn("SIGHUP ignored: the config is embedded; to reload one, start with --config FILE")
					continue
				}
				logger.Info("SIGHUP: reloading the config", "file", file)
				if _, err := a.Reload(load); errors.Is(err, bridge.ErrNotRunning) {
					logger.Warn("SIGHUP ignored: the bridge is starting or stopping")
				}
			}
		}
	}()
	return done
}

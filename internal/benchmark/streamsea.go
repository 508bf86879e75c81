package benchmark

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/seabridge/seabridge/internal/streamsea"
	"github.com/seabridge/seabridge/internal/streamsea/emulator"
)

// Credentials of the emulator's one client, used by load generators, readers and the bridge.
const (
	clientID     = "bridge"
	clientSecret = "bridge-secret"
	// benchGroup is the consumer group of every benchmark subscription.
	benchGroup = "0b5e6c1d-7a2f-4c3e-9d8b-1f2e3d4c5b6a"
)

// startEmulator starts a stream-sea emulator on 127.0.0.1 with the "block" slow-subscriber
// policy: a publish waits for room in a subscriber's queue instead of dropping, so a slow
// reader slows the publisher down and every message is delivered.
func startEmulator(logger *slog.Logger) (*emulator.Server, error) {
	emu, err := emulator.New(emulator.Options{
		Clients:        []emulator.Client{{ID: clientID, Secret: clientSecret}},
		SlowSubscriber: emulator.PolicyBlock,
		BlockTimeout:   30 * time.Second,
		Logger:         logger.With("component", "emulator"),
	})
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	if err := emu.Start(); err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	return emu, nil
}

// newPublisher returns a REST client for the bench process's own load generators. It sends
// plain JSON: gzip would spend the bench process's CPU (and the emulator's) on compressing
// loopback traffic.
func newPublisher(emu *emulator.Server) (*streamsea.Client, error) {
	c, err := streamsea.NewClient(streamsea.ClientOptions{BaseURL: emu.URL(), ClientID: clientID, ClientSecret: clientSecret, Timeout: time.Minute})
	if err != nil {
		return nil, fmt.Errorf("publisher: %w", err)
	}
	return c, nil
}

// subscribed reports whether stream has n or more live subscriptions on the emulator.
func subscribed(emu *emulator.Server, stream string, n int) bool {
	for _, s := range emu.Stats().Streams {
		if s.Stream == stream && s.Subscriptions >= n {
			return true
		}
	}
	return false
}

// waitSubscribed waits until stream has a live subscription on the emulator.
func waitSubscribed(ctx context.Context, emu *emulator.Server, stream string, exited <-chan struct{}) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !subscribed(emu, stream, 1) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for a subscription to %q: %w", stream, ctx.Err())
		case <-exited:
			return fmt.Errorf("waiting for a subscription to %q: the subscriber exited", stream)
		case <-tick.C:
		}
	}
	return nil
}

// wsReader is the bench process's own websocket reader: one connection, one subscription, no
// processing beyond recording each delivery.
type wsReader struct {
	conn *streamsea.Conn
	wg   sync.WaitGroup
}

// startReader dials the emulator, subscribes to stream and reads until ctx ends.
func startReader(ctx context.Context, emu *emulator.Server, stream string, a *arrivals, errc chan<- error, logger *slog.Logger) (*wsReader, error) {
	conn, err := streamsea.DialConn(ctx, streamsea.SubscriberOptions{
		URL: emu.URL(), ClientID: clientID, ClientSecret: clientSecret,
		Subscriptions: []streamsea.Subscription{{Stream: stream, GroupID: benchGroup}},
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("websocket reader: %w", err)
	}
	r := &wsReader{conn: conn}
	rec := a.recorder()
	r.wg.Go(func() {
		var batch []streamsea.Delivery
		for {
			var rerr error
			batch, rerr = conn.ReadDelivery(ctx, batch[:0])
			for _, d := range batch {
				rec.observe(d.Payload, d.ReceivedAt)
			}
			if rerr != nil {
				if ctx.Err() == nil {
					report(errc, fmt.Errorf("websocket reader: %w", rerr))
				}
				return
			}
		}
	})
	if err := waitSubscribed(ctx, emu, stream, nil); err != nil {
		r.stop()
		return nil, err
	}
	return r, nil
}

// stop closes the connection and waits for the reading goroutine.
func (r *wsReader) stop() {
	_ = r.conn.Close()
	r.wg.Wait()
}

// streamseaSender sends paced payloads for a latency scenario, one PublishBatch per call.
type streamseaSender struct {
	client *streamsea.Client
	stream string
}

func (s *streamseaSender) send(ctx context.Context, payloads [][]byte) error {
	if err := s.client.PublishBatch(ctx, s.stream, payloads); err != nil {
		return fmt.Errorf("publish to %q: %w", s.stream, err)
	}
	return nil
}

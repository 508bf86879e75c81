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

// newPublisher returns a REST client for the load generator. It sends plain JSON: gzip would
// spend the generator's CPU (and the emulator's) on compressing loopback traffic.
func newPublisher(emu *emulator.Server) (*streamsea.Client, error) {
	c, err := streamsea.NewClient(streamsea.ClientOptions{BaseURL: emu.URL(), ClientID: clientID, ClientSecret: clientSecret, Timeout: time.Minute})
	if err != nil {
		return nil, fmt.Errorf("publisher: %w", err)
	}
	return c, nil
}

// publish sends n payloads to stream in PublishBatch calls of batch messages, stamping each
// batch with the time it is handed to the client.
func publish(ctx context.Context, c *streamsea.Client, stream string, n, size, batch int) error {
	payloads := newPayloadBatch(batch, size)
	for sent := 0; sent < n; {
		k := min(batch, n-sent)
		if err := c.PublishBatch(ctx, stream, payloads.fill(k, int64(sent), time.Now().UnixNano())); err != nil {
			return fmt.Errorf("publish after %d of %d: %w", sent, n, err)
		}
		sent += k
	}
	return nil
}

// wsReader is a bare websocket reader: one connection, one subscription, no processing beyond
// recording each delivery in the probe.
type wsReader struct {
	conn *streamsea.Conn
	wg   sync.WaitGroup
}

// startReader dials the emulator, subscribes to stream and reads until ctx ends.
func startReader(ctx context.Context, emu *emulator.Server, stream string, p *Probe, errc chan<- error, logger *slog.Logger) (*wsReader, error) {
	conn, err := streamsea.DialConn(ctx, streamsea.SubscriberOptions{
		URL: emu.URL(), ClientID: clientID, ClientSecret: clientSecret,
		Subscriptions: []streamsea.Subscription{{Stream: stream, GroupID: benchGroup}},
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("websocket reader: %w", err)
	}
	r := &wsReader{conn: conn}
	rec := p.Recorder()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		var batch []streamsea.Delivery
		for {
			var rerr error
			batch, rerr = conn.ReadDelivery(ctx, batch[:0])
			for _, d := range batch {
				rec.Observe(d.Payload, d.ReceivedAt)
			}
			if rerr != nil {
				if ctx.Err() == nil {
					report(errc, fmt.Errorf("websocket reader: %w", rerr))
				}
				return
			}
		}
	}()
	return r, nil
}

// stop closes the connection and waits for the reading goroutine.
func (r *wsReader) stop() {
	_ = r.conn.Close()
	r.wg.Wait()
}

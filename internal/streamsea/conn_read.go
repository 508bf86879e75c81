package streamsea

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"time"
)

// ReadDelivery blocks until the next delivery frame arrives and appends its deliveries to dst
// (one per element for an array payload, in order). Frames that are malformed or unexpected
// are reported and skipped. It returns an error when the connection failed (ErrDeadConnection
// after DeadAfter of silence), when the server refused a subscription after the handshake
// (ErrSubscribeFailed), or when ctx is done; the Conn cannot be read afterwards and should be
// closed. The bytes of the websocket message are copied once, into the deliveries.
func (c *Conn) ReadDelivery(ctx context.Context, dst []Delivery) ([]Delivery, error) {
	if len(c.pending) > 0 {
		dst = append(dst, c.pending...)
		c.pending = nil
		return dst, nil
	}
	if err := c.watch(ctx); err != nil {
		return dst, err
	}
	for n := len(dst); len(dst) == n; {
		f, received, err := c.readFrame()
		if err != nil {
			return dst, err
		}
		if dst, err = c.handleFrame(&f, received, dst); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// handleFrame interprets one frame on a subscription id: a subscribe answer or a delivery.
// Deliveries are appended to dst; a refused subscription is returned as a *SubscribeError.
func (c *Conn) handleFrame(f *Frame, received time.Time, dst []Delivery) ([]Delivery, error) {
	i := int(f.ID) - 2
	switch {
	case f.ID < 2 || i >= len(c.subs):
		c.skip("frame for an unknown id", c.buf.Bytes())
		return dst, nil
	case f.Action != ActionSubscription && f.Action != ActionSubscribe:
		c.skip("unexpected action "+f.Action, c.buf.Bytes())
		return dst, nil
	case f.Success != nil:
		return dst, c.answer(f, i)
	case c.confirmed != nil && !c.confirmed[i]:
		c.skip("delivery before the subscription was confirmed", c.buf.Bytes())
		return dst, nil
	}
	return c.appendDeliveries(dst, f, c.subs[i].Stream, received), nil
}

// answer handles a subscribe answer for c.subs[i].
func (c *Conn) answer(f *Frame, i int) error {
	if !*f.Success {
		sub := c.subs[i]
		return &SubscribeError{Stream: sub.Stream, GroupID: sub.GroupID, Message: errorMessage(*f)}
	}
	if c.confirmed == nil || c.confirmed[i] {
		c.skip("repeated subscription answer", c.buf.Bytes())
		return nil
	}
	c.confirmed[i] = true
	return nil
}

// appendDeliveries copies f's payload once and appends one Delivery per element.
func (c *Conn) appendDeliveries(dst []Delivery, f *Frame, stream string, received time.Time) []Delivery {
	payload := bytes.TrimLeft(f.Payload, " \t\r\n")
	if len(payload) == 0 {
		c.skip("delivery without payload", c.buf.Bytes())
		return dst
	}
	owned := bytes.Clone(payload)
	if owned[0] == '{' {
		return append(dst, Delivery{Stream: stream, Payload: owned, ReceivedAt: received})
	}
	elems, err := SplitPayload(owned)
	if err != nil {
		c.report(err)
		return dst
	}
	for _, e := range elems {
		dst = append(dst, Delivery{Stream: stream, Payload: e[:len(e):len(e)], ReceivedAt: received})
	}
	return dst
}

// watch arranges for ctx to abort a blocked read. It registers once per distinct context.
func (c *Conn) watch(ctx context.Context) error {
	if ctx == c.watched {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.watchMu.Lock()
	defer c.watchMu.Unlock()
	if c.stopWatch != nil {
		c.stopWatch()
	}
	c.watched = ctx
	c.stopWatch = context.AfterFunc(ctx, func() { c.abort(ctx) })
	return nil
}

// BeginClose starts the websocket closing handshake: the writer sends a close frame (1000
// normal closure) and then nothing more, not even pongs. The connection stays open for
// reading: ReadDelivery goes on returning the deliveries the server sent before it answered,
// then an error matching *websocket.CloseError once the server's own close frame arrives.
// The caller then calls Close, which closes the TCP connection. BeginClose is idempotent and
// may be called from any goroutine.
func (c *Conn) BeginClose() {
	c.closeFrameOnce.Do(func() { close(c.closing) })
}

// Close sends a close frame unless BeginClose did (waiting at most about a second for it to
// be written), closes the socket and stops the writer goroutine. A blocked ReadDelivery
// returns an error. Close is idempotent and safe to call concurrently with ReadDelivery.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.watchMu.Lock()
		if c.stopWatch != nil {
			c.stopWatch()
		}
		c.watchMu.Unlock()
		c.BeginClose()
		t := time.NewTimer(2 * closeTimeout)
		select {
		case <-c.writerDone:
		case <-t.C:
		}
		t.Stop()
		c.closeErr = c.ws.Close()
		<-c.writerDone
	})
	return c.closeErr
}

// newProtocolReporter returns the reporter of skipped frames: it calls hook (if any) for each
// and logs at WARN at most once per protocolWarnEvery, with the count of those not logged.
func newProtocolReporter(hook func(error), logger *slog.Logger) func(error) {
	var (
		mu         sync.Mutex
		last       time.Time
		suppressed int
	)
	return func(err error) {
		if hook != nil {
			hook(err)
		}
		now := time.Now()
		mu.Lock()
		if now.Sub(last) < protocolWarnEvery {
			suppressed++
			mu.Unlock()
			return
		}
		n := suppressed
		last, suppressed = now, 0
		mu.Unlock()
		logger.Warn("skipped a stream-sea frame", "err", err, "suppressed_since_last_warning", n)
	}
}

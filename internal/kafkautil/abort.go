package kafkautil

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// abortWait is how long CloseWithin waits for a close after aborting its connections: the time
// for the calls that were blocked on them to see them closed and return.
const abortWait = 100 * time.Millisecond

// Conns is the set of network connections a component dials, so that closing the component
// can be bounded by a context. kafka-go bounds what its Close methods wait for (a consumer
// group's last commit and its leave, a Writer's produce in flight, a Reader's fetch) by its own
// request timeouts, not by a context, and a broker that accepts connections and never answers
// holds them that long. Abort closes every open connection, so that each such call fails at
// once, and makes every later dial fail with ErrAborted. Safe for concurrent use; make one with
// NewConns.
type Conns struct {
	aborted context.Context // done once Abort was called: dials in progress give up
	abort   context.CancelFunc

	mu   sync.Mutex
	open map[*trackedConn]struct{}
}

// NewConns returns an empty set.
func NewConns() *Conns {
	ctx, cancel := context.WithCancel(context.Background())
	return &Conns{aborted: ctx, abort: cancel, open: make(map[*trackedConn]struct{})}
}

// DialFunc is the signature of net.Dialer.DialContext, which kafka-go's Dialer and Transport
// take.
type DialFunc = func(ctx context.Context, network, address string) (net.Conn, error)

// Dial returns dial with every connection it makes added to c until closed.
func (c *Conns) Dial(dial DialFunc) DialFunc {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		if c.aborted.Err() != nil {
			return nil, ErrAborted
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(c.aborted, cancel)
		defer stop()
		nc, err := dial(ctx, network, address)
		if err != nil {
			if c.aborted.Err() != nil {
				return nil, ErrAborted
			}
			return nil, err
		}
		tc := &trackedConn{Conn: nc, set: c}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.aborted.Err() != nil {
			_ = nc.Close()
			return nil, ErrAborted
		}
		c.open[tc] = struct{}{}
		return tc, nil
	}
}

// TrackDialer makes d dial through c. d's LocalAddr, DualStack, FallbackDelay and KeepAlive
// must be unset (a DialFunc replaces them).
func (c *Conns) TrackDialer(d *kafka.Dialer) {
	dial := d.DialFunc
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	d.DialFunc = c.Dial(dial)
}

// TrackTransport makes t dial through c.
func (c *Conns) TrackTransport(t *kafka.Transport) {
	dial := t.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: t.DialTimeout}).DialContext
	}
	t.Dial = c.Dial(dial)
}

// Abort closes every open connection of c and makes later dials fail. It may be called more
// than once.
func (c *Conns) Abort() {
	c.abort()
	c.mu.Lock()
	open := c.open
	c.open = map[*trackedConn]struct{}{}
	c.mu.Unlock()
	for tc := range open {
		_ = tc.Conn.Close()
	}
}

// Open is the number of connections of c not yet closed.
func (c *Conns) Open() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.open)
}

type trackedConn struct {
	net.Conn
	set *Conns
}

func (tc *trackedConn) Close() error {
	tc.set.mu.Lock()
	delete(tc.set.open, tc)
	tc.set.mu.Unlock()
	return tc.Conn.Close()
}

// CloseWithin calls closeFn in a new goroutine and returns its error once it has returned. It
// waits for closeFn until ctx ends, and at least abortWait, so that a close that has nothing to
// wait for (or a commit a healthy broker answers at once) completes even when ctx has already
// ended. Then it aborts conns, so that whatever closeFn waits for on a connection fails at
// once, and waits abortWait more: it returns ctx.Err() wrapped with closeFn's error, or
// ctx.Err() alone when closeFn is still running. closeFn then goes on in its goroutine and
// ends by itself, since every call it makes on a connection of conns fails; it must not block
// long on anything else. CloseWithin returns within abortWait of ctx's end, or within twice
// abortWait of its call when ctx had already ended.
func CloseWithin(ctx context.Context, conns *Conns, closeFn func() error) error {
	done := make(chan error, 1)
	go func() { done <- closeFn() }()
	least := time.NewTimer(abortWait)
	defer least.Stop()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	select {
	case err := <-done:
		return err
	case <-least.C:
	}
	conns.Abort()
	t := time.NewTimer(abortWait)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%w; once aborted: %w", ctx.Err(), err)
		}
		return ctx.Err()
	case <-t.C:
		return ctx.Err()
	}
}

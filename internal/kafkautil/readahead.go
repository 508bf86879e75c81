package kafkautil

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// readAheadSize is the most a readAheadConn reads with one system call.
const readAheadSize = 64 << 10

// deadlineGrace is added to the read and write deadlines kafka-go sets. Its Reader sets the
// deadline of a fetch (and of the version request before a connection's first) to its MaxWait
// and asks the broker to wait until all but a quarter of it (all but a second from 1 s up):
// with the default 250 ms, an empty answer that the broker sends on time but that is read
// 63 ms later (a loaded machine, a pause of either process, a network of tens of
// milliseconds) is a timeout, on which the Reader closes its connection and dials the
// cluster again; a connection whose version request takes longer than MaxWait fails its
// first fetch, every time. With the grace, only an answer late by more than a second is; a
// broker that is gone is noticed a second later.
const deadlineGrace = time.Second

// withGrace returns t extended by deadlineGrace; the zero time (no deadline) stays.
func withGrace(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Add(deadlineGrace)
}

var readAheadBufs = sync.Pool{New: func() any { b := make([]byte, readAheadSize); return &b }}

// readAheadConn is a net.Conn for kafka-go's Conn, which reads through a 4 KiB bufio.Reader
// and sets a read deadline before every message it decodes: a fetch response of megabytes
// then costs a read system call per 4 KiB and a runtime timer update per message.
// readAheadConn reads a response's bulk up to 64 KiB at a time and applies read deadlines
// only when it is about to read from the connection:
//
//   - the first read after a Write (the start of an answer, which may have to wait for it)
//     reads into the caller's slice, as the bare connection would. Later reads fill a pooled
//     64 KiB buffer, and Reads are served from it until it is empty, when it goes back to the
//     pool: a connection waiting for an answer holds no buffer of its own. A fill never waits
//     longer than the bare read would: it returns what has arrived.
//   - SetReadDeadline records the deadline, and the next read from the connection applies
//     it first; while a read from the connection is in progress it is applied at once, so
//     that a deadline set to interrupt a blocked Read still does, as it is. Every other
//     deadline, read or write, is extended by deadlineGrace.
//
// Read is not called concurrently with itself (no kafka-go Conn does); Write and the deadline
// methods may be called at any time.
type readAheadConn struct {
	net.Conn

	mu       sync.Mutex
	deadline time.Time // the read deadline last set
	pending  bool      // deadline is not yet applied to Conn
	reading  bool      // a Read of Conn is in progress

	// ahead: bytes were read since the last Write, so an answer is being read.
	ahead atomic.Bool

	// Used by the reading goroutine only.
	buf  *[]byte // buffered bytes are (*buf)[r:w]; nil when nothing is buffered
	r, w int
	err  error // returned by the read from Conn that filled buf; reported once buf is empty
}

func newReadAheadConn(c net.Conn) *readAheadConn { return &readAheadConn{Conn: c} }

// dialReadAhead returns a DialFunc for kafka.Dialer that wraps the connections it dials.
func dialReadAhead(d *net.Dialer) func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, address)
		if err != nil {
			return nil, err
		}
		return newReadAheadConn(c), nil
	}
}

func (c *readAheadConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.buf == nil && len(p) < readAheadSize && c.ahead.Load() {
		c.buf = readAheadBufs.Get().(*[]byte)
		n, err := c.readConn(*c.buf)
		c.r, c.w, c.err = 0, n, err
		if n == 0 {
			c.release()
			return 0, err
		}
	}
	if c.buf != nil {
		n := copy(p, (*c.buf)[c.r:c.w])
		var err error
		if c.r += n; c.r == c.w {
			err = c.err
			c.release()
		}
		return n, err
	}
	return c.readConn(p)
}

func (c *readAheadConn) Write(p []byte) (int, error) {
	c.ahead.Store(false)
	return c.Conn.Write(p)
}

func (c *readAheadConn) release() {
	readAheadBufs.Put(c.buf)
	c.buf, c.r, c.w, c.err = nil, 0, 0, nil
}

// readConn reads from the connection, applying the read deadline first if it changed.
func (c *readAheadConn) readConn(p []byte) (int, error) {
	c.mu.Lock()
	c.reading = true
	if c.pending {
		c.pending = false
		if err := c.Conn.SetReadDeadline(c.deadline); err != nil {
			c.reading = false
			c.mu.Unlock()
			return 0, err
		}
	}
	c.mu.Unlock()
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.reading = false
	c.mu.Unlock()
	if n > 0 {
		c.ahead.Store(true)
	}
	return n, err
}

func (c *readAheadConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reading {
		// Set to interrupt the Read in progress, or to bound it: applied as it is.
		c.deadline, c.pending = t, false
		return c.Conn.SetReadDeadline(t)
	}
	t = withGrace(t)
	if c.deadline.Equal(t) && !c.pending {
		return nil
	}
	c.deadline, c.pending = t, true
	return nil
}

func (c *readAheadConn) SetWriteDeadline(t time.Time) error {
	return c.Conn.SetWriteDeadline(withGrace(t))
}

func (c *readAheadConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

package faultproxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// link is one proxied connection: the client's and the upstream's, and one direction of
// forwarding each way. Each direction has a reader goroutine, which reads the source into a
// bounded queue, and a writer goroutine, which writes each chunk to the destination once its
// latency has passed. Both stop reading and writing while the proxy blackholes.
type link struct {
	p        *Proxy
	client   *net.TCPConn
	upstream *net.TCPConn // nil until dialled

	closed atomic.Bool
	done   chan struct{} // closed by closeLocked

	mu   sync.Mutex // guards the queues below
	cond *sync.Cond
	up   queue // client -> upstream
	down queue // upstream -> client
}

type chunk struct {
	data []byte
	read time.Time
}

// queue is one direction's chunks, guarded by link.mu.
type queue struct {
	chunks []chunk
	bytes  int
	end    error // set when the reader stopped: io.EOF for a clean end
}

func newLink(p *Proxy, client *net.TCPConn) *link {
	l := &link{p: p, client: client, done: make(chan struct{})}
	l.cond = sync.NewCond(&l.mu)
	return l
}

func (l *link) isClosed() bool { return l.closed.Load() }

// run dials the upstream (once the proxy forwards) and forwards until both directions ended
// or the link is closed.
func (l *link) run() {
	defer l.p.wg.Done()
	defer l.p.remove(l)
	if !l.p.waitForwarding(l) {
		return
	}
	c, err := net.DialTimeout("tcp", l.p.upstream, 5*time.Second)
	if err != nil {
		l.p.dialErrs.Add(1)
		l.shutdown(true)
		return
	}
	l.p.mu.Lock()
	l.upstream = c.(*net.TCPConn)
	if l.closed.Load() {
		_ = l.upstream.Close()
		l.p.mu.Unlock()
		return
	}
	l.p.mu.Unlock()

	var wg sync.WaitGroup
	var cleanEnds atomic.Int32
	for _, d := range []struct {
		src, dst *net.TCPConn
		q        *queue
	}{{l.client, l.upstream, &l.up}, {l.upstream, l.client, &l.down}} {
		wg.Add(2)
		go func() { defer wg.Done(); l.read(d.src, d.q) }()
		go func() {
			defer wg.Done()
			if l.write(d.dst, d.q) {
				if cleanEnds.Add(1) == 2 {
					l.shutdown(false)
				}
			}
		}()
	}
	wg.Wait()
	l.shutdown(false)
}

// read copies src into q until src ends or the link closes. A read error other than a clean
// end resets the link, so that each peer sees what the other did.
func (l *link) read(src *net.TCPConn, q *queue) {
	for {
		if !l.p.waitForwarding(l) {
			return
		}
		l.mu.Lock()
		for q.bytes >= queueBytes && !l.isClosed() {
			l.cond.Wait()
		}
		l.mu.Unlock()
		if l.isClosed() {
			return
		}
		buf := make([]byte, chunkBytes)
		n, err := src.Read(buf)
		l.mu.Lock()
		if n > 0 {
			q.chunks = append(q.chunks, chunk{data: buf[:n], read: time.Now()})
			q.bytes += n
		}
		if err != nil {
			q.end = err
		}
		l.cond.Broadcast()
		l.mu.Unlock()
		if err != nil {
			if !errors.Is(err, io.EOF) && !l.isClosed() {
				l.shutdown(true)
			}
			return
		}
	}
}

// write forwards q's chunks to dst. It returns true when the source ended cleanly and every
// chunk was written (dst's write side is then closed), false when the link closed first.
func (l *link) write(dst *net.TCPConn, q *queue) bool {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		l.mu.Lock()
		for len(q.chunks) == 0 && q.end == nil && !l.isClosed() {
			l.cond.Wait()
		}
		if l.isClosed() {
			l.mu.Unlock()
			return false
		}
		if len(q.chunks) == 0 { // the source ended and everything was written
			end := q.end
			l.mu.Unlock()
			if errors.Is(end, io.EOF) {
				_ = dst.CloseWrite()
				return true
			}
			return false
		}
		c := q.chunks[0]
		l.mu.Unlock()

		if wait := time.Until(c.read.Add(l.p.currentLatency())); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-l.done:
				return false
			}
			continue // the latency may have changed meanwhile: look again
		}
		if !l.p.waitForwarding(l) {
			return false
		}
		if _, err := dst.Write(c.data); err != nil {
			l.shutdown(true)
			return false
		}
		l.mu.Lock()
		q.chunks[0] = chunk{}
		q.chunks = q.chunks[1:]
		q.bytes -= len(c.data)
		l.cond.Broadcast()
		l.mu.Unlock()
	}
}

// shutdown closes the link (resetting both peers when reset is true) from a link goroutine.
func (l *link) shutdown(reset bool) {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	l.closeLocked(reset)
}

// closeLocked closes both connections once; with reset the peers get an RST instead of a FIN.
// It reports whether this call closed the link. Called with p.mu held.
func (l *link) closeLocked(reset bool) bool {
	if !l.closed.CompareAndSwap(false, true) {
		return false
	}
	for _, c := range []*net.TCPConn{l.client, l.upstream} {
		if c == nil {
			continue
		}
		if reset {
			_ = c.SetLinger(0)
		}
		_ = c.Close()
	}
	close(l.done)
	l.mu.Lock()
	l.cond.Broadcast()
	l.mu.Unlock()
	l.p.cond.Broadcast()
	return true
}

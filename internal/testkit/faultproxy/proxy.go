// Package faultproxy is a TCP proxy that injects network faults between a client and a
// server, switched at runtime by the test that owns it:
//
//   - Pass: forward both ways (optionally with a latency, SetLatency).
//   - Cut: refuse new connections (the listener is closed, so a dial gets ECONNREFUSED, as
//     for a server that is down) and reset every open one (both peers get an RST).
//   - Blackhole: accept new connections and forward nothing on any connection, new or open,
//     as in a network partition: nothing is read from either peer, so their writes block
//     once the kernel's buffers are full. On Heal forwarding resumes where it stopped, as
//     TCP does after a partition heals, unless a peer gave up meanwhile.
//   - ResetConnections: reset every open connection and keep accepting.
//
// Heal returns to Pass. Every method is safe for concurrent use. Close stops the listener
// and every connection and waits for every goroutine the proxy started.
package faultproxy

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is what the proxy does with traffic.
type Mode int

const (
	// Pass forwards both ways.
	Pass Mode = iota
	// Blackhole accepts connections and forwards nothing.
	Blackhole
	// Cut refuses new connections; open ones were reset when the mode was entered.
	Cut
)

func (m Mode) String() string {
	switch m {
	case Pass:
		return "pass"
	case Blackhole:
		return "blackhole"
	case Cut:
		return "cut"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// chunkBytes is the largest read forwarded as one piece; queueBytes bounds what one
// direction of one connection holds while it waits out a latency.
const (
	chunkBytes = 32 << 10
	queueBytes = 8 << 20
)

// Stats counts what the proxy did since it was created.
type Stats struct {
	Mode     Mode
	Accepted int64 // connections accepted
	Active   int   // connections open now
	Reset    int64 // connections reset by Cut or ResetConnections
	DialErrs int64 // accepted connections closed because the upstream could not be dialled
}

// Proxy forwards connections from its listen address to an upstream address.
type Proxy struct {
	addr     string
	upstream string

	mu       sync.Mutex
	cond     *sync.Cond // signalled on every change of mode, latency or conns
	mode     Mode
	latency  time.Duration
	listener net.Listener // nil while cut or closed
	conns    map[*link]struct{}
	closed   bool

	wg       sync.WaitGroup // accept loop and every link's goroutines
	accepted atomic.Int64
	resets   atomic.Int64
	dialErrs atomic.Int64
}

// New starts a proxy listening on listen ("127.0.0.1:0" picks a free port) that forwards to
// upstream (host:port). The upstream is dialled once per accepted connection; it need not be
// up when the proxy starts.
func New(listen, upstream string) (*Proxy, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen %s: %w", listen, err)
	}
	p := &Proxy{addr: ln.Addr().String(), upstream: upstream, listener: ln, conns: map[*link]struct{}{}}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.acceptLoop(ln)
	return p, nil
}

// Addr is the address clients dial (host:port).
func (p *Proxy) Addr() string { return p.addr }

// Upstream is the address the proxy forwards to.
func (p *Proxy) Upstream() string { return p.upstream }

// Mode is the current mode.
func (p *Proxy) Mode() Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// Stats returns the counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Mode: p.mode, Accepted: p.accepted.Load(), Active: len(p.conns),
		Reset: p.resets.Load(), DialErrs: p.dialErrs.Load()}
}

// SetLatency delays every chunk forwarded, in each direction, by d from the moment it was
// read (0 turns it off). It applies to chunks not yet written.
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = d
	p.cond.Broadcast()
}

// Cut refuses new connections and resets every open one, until Heal.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.mode = Cut
	if p.listener != nil {
		_ = p.listener.Close()
		p.listener = nil
	}
	p.resetLocked()
	p.cond.Broadcast()
}

// Blackhole stops forwarding on every connection and accepts new ones without forwarding
// anything, until Heal.
func (p *Proxy) Blackhole() error { return p.setListening(Blackhole) }

// Heal returns to Pass: the listener accepts again (after Cut) and every connection forwards
// again (after Blackhole). It fails only when the listen address cannot be bound again.
func (p *Proxy) Heal() error { return p.setListening(Pass) }

// setListening enters a mode in which the proxy accepts connections.
func (p *Proxy) setListening(m Mode) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return net.ErrClosed
	}
	if err := p.openLocked(); err != nil {
		return err
	}
	p.mode = m
	p.cond.Broadcast()
	return nil
}

// ResetConnections resets every open connection (an RST to both peers) and keeps the mode.
// It returns how many it reset.
func (p *Proxy) ResetConnections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.resetLocked()
}

// Close stops the proxy: the listener and every connection are closed and every goroutine
// has returned when it returns. Idempotent.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		if p.listener != nil {
			_ = p.listener.Close()
			p.listener = nil
		}
		for l := range p.conns {
			l.closeLocked(false)
		}
		p.cond.Broadcast()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return nil
}

// openLocked listens again on the proxy's address when it is cut. The port was ours a moment
// ago; a bind that fails (the port still held by the kernel, or taken) is retried for 5 s.
func (p *Proxy) openLocked() error {
	if p.listener != nil {
		return nil
	}
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for {
		var ln net.Listener
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.listener = ln
			p.wg.Add(1)
			go p.acceptLoop(ln)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("faultproxy: listen again on %s: %w", p.addr, err)
		}
		p.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
		p.mu.Lock()
		if p.closed {
			return net.ErrClosed
		}
		if p.listener != nil {
			return nil
		}
	}
}

func (p *Proxy) resetLocked() int {
	n := 0
	for l := range p.conns {
		if l.closeLocked(true) {
			n++
		}
	}
	p.resets.Add(int64(n))
	return n
}

func (p *Proxy) acceptLoop(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // e.g. EMFILE: do not spin
			continue
		}
		p.accepted.Add(1)
		l := newLink(p, c.(*net.TCPConn))
		p.mu.Lock()
		if p.closed || p.mode == Cut {
			p.mu.Unlock()
			_ = l.client.SetLinger(0)
			_ = c.Close()
			continue
		}
		p.conns[l] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go l.run()
	}
}

// waitForwarding blocks while the proxy blackholes and returns false once the link is
// closed (or the proxy is).
func (p *Proxy) waitForwarding(l *link) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.mode == Blackhole && !l.isClosed() && !p.closed {
		p.cond.Wait()
	}
	return !l.isClosed() && !p.closed
}

func (p *Proxy) currentLatency() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.latency
}

func (p *Proxy) remove(l *link) {
	p.mu.Lock()
	delete(p.conns, l)
	p.cond.Broadcast()
	p.mu.Unlock()
}

package faultproxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echoServer accepts connections on 127.0.0.1 and echoes every line back.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); _, _ = io.Copy(c, c); _ = c.Close() }()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func newProxy(t *testing.T, upstream string) *Proxy {
	t.Helper()
	p, err := New("127.0.0.1:0", upstream)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

type client struct {
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &client{c: c, r: bufio.NewReader(c)}
}

// roundTrip writes a line and reads the echo within timeout.
func (c *client) roundTrip(line string, timeout time.Duration) (string, error) {
	_ = c.c.SetDeadline(time.Now().Add(timeout))
	defer func() { _ = c.c.SetDeadline(time.Time{}) }()
	if _, err := io.WriteString(c.c, line+"\n"); err != nil {
		return "", err
	}
	got, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return got[:len(got)-1], nil
}

func mustRoundTrip(t *testing.T, c *client, line string) {
	t.Helper()
	got, err := c.roundTrip(line, 10*time.Second)
	if err != nil || got != line {
		t.Fatalf("round trip %q: got %q, %v", line, got, err)
	}
}

func TestPassForwardsBothWays(t *testing.T) {
	p := newProxy(t, echoServer(t))
	c := dial(t, p.Addr())
	for _, line := range []string{"one", "two", string(make([]byte, 100000))} {
		mustRoundTrip(t, c, line)
	}
	if s := p.Stats(); s.Accepted != 1 || s.Active != 1 || s.Mode != Pass {
		t.Fatalf("stats = %+v, want 1 accepted, 1 active, pass", s)
	}
}

func TestCutRefusesAndResetsUntilHeal(t *testing.T) {
	p := newProxy(t, echoServer(t))
	open := dial(t, p.Addr())
	mustRoundTrip(t, open, "before")

	p.Cut()
	if _, err := open.roundTrip("during", 5*time.Second); !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
		t.Fatalf("open connection after Cut: err = %v, want a reset", err)
	}
	if c, err := net.DialTimeout("tcp", p.Addr(), 2*time.Second); err == nil {
		_ = c.Close()
		t.Fatal("dial during Cut succeeded, want refused")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial during Cut: %v, want ECONNREFUSED", err)
	}
	if s := p.Stats(); s.Reset != 1 || s.Mode != Cut {
		t.Fatalf("stats = %+v, want 1 reset, cut", s)
	}

	if err := p.Heal(); err != nil {
		t.Fatal(err)
	}
	mustRoundTrip(t, dial(t, p.Addr()), "after")
}

func TestBlackholeHoldsTrafficUntilHeal(t *testing.T) {
	p := newProxy(t, echoServer(t))
	open := dial(t, p.Addr())
	mustRoundTrip(t, open, "before")

	if err := p.Blackhole(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(open.c, "held\n"); err != nil {
		t.Fatal(err)
	}
	fresh := dial(t, p.Addr()) // accepted, but nothing passes
	if _, err := io.WriteString(fresh.c, "fresh\n"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{open, fresh} {
		_ = c.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if b, err := c.r.ReadByte(); err == nil {
			t.Fatalf("read %q through a blackhole", b)
		} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			t.Fatalf("read through a blackhole: %v, want a timeout", err)
		}
		_ = c.c.SetReadDeadline(time.Time{})
	}

	if err := p.Heal(); err != nil {
		t.Fatal(err)
	}
	for c, want := range map[*client]string{open: "held\n", fresh: "fresh\n"} {
		_ = c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, err := c.r.ReadString('\n')
		if err != nil || got != want {
			t.Fatalf("after Heal: read %q, %v; want %q", got, err, want)
		}
	}
}

func TestResetConnectionsKeepsAccepting(t *testing.T) {
	p := newProxy(t, echoServer(t))
	a, b := dial(t, p.Addr()), dial(t, p.Addr())
	mustRoundTrip(t, a, "a")
	mustRoundTrip(t, b, "b")
	if n := p.ResetConnections(); n != 2 {
		t.Fatalf("ResetConnections = %d, want 2", n)
	}
	if _, err := a.roundTrip("again", 5*time.Second); err == nil {
		t.Fatal("a reset connection still works")
	}
	mustRoundTrip(t, dial(t, p.Addr()), "new")
}

func TestLatencyDelaysEachDirection(t *testing.T) {
	p := newProxy(t, echoServer(t))
	c := dial(t, p.Addr())
	mustRoundTrip(t, c, "warm")
	const d = 150 * time.Millisecond
	p.SetLatency(d)
	start := time.Now()
	mustRoundTrip(t, c, "slow")
	// Up and down are each delayed: at least 2d. No upper bound: a loaded machine is slower.
	if took := time.Since(start); took < 2*d {
		t.Fatalf("round trip with latency %v took %v, want at least %v", d, took, 2*d)
	}
	p.SetLatency(0)
	mustRoundTrip(t, c, "fast")
}

func TestUpstreamDownResetsClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, ln.Addr().String())
	_ = ln.Close() // nothing listens upstream now (closed after the proxy took its own port)
	// The proxy accepts, fails to dial and resets: on loopback the reset may even reach the
	// client before its connect returns.
	if c, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second); err == nil {
		t.Cleanup(func() { _ = c.Close() })
		cl := &client{c: c, r: bufio.NewReader(c)}
		if _, err := cl.roundTrip("x", 10*time.Second); err == nil {
			t.Fatal("round trip through a proxy whose upstream is down succeeded")
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for p.Stats().DialErrs != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("stats = %+v, want 1 dial error", p.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCloseEndsEverything(t *testing.T) {
	p, err := New("127.0.0.1:0", echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, p.Addr())
	mustRoundTrip(t, c, "x")
	if err := p.Blackhole(); err != nil {
		t.Fatal(err)
	}
	_ = p.Close()
	_ = p.Close()
	if err := p.Heal(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Heal after Close = %v, want net.ErrClosed", err)
	}
	if _, err := c.roundTrip("y", 5*time.Second); err == nil {
		t.Fatal("connection still works after Close")
	}
}

package kafkautil

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection, the client end read-ahead.
func tcpPair(t *testing.T) (*readAheadConn, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	rc := newReadAheadConn(c)
	t.Cleanup(func() {
		_ = rc.Close()
		_ = server.Close()
	})
	return rc, server
}

// TestReadAheadConnDeliversTheStream reads 3 MiB written in pieces of random sizes through
// a 4 KiB bufio.Reader (as kafka-go does) and with reads of random sizes, setting a read
// deadline before every read: the bytes arrive whole and in order.
func TestReadAheadConnDeliversTheStream(t *testing.T) {
	rc, server := tcpPair(t)
	want := make([]byte, 3<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range want {
		want[i] = byte(rng.Uint32())
	}
	go func() {
		for rest := want; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(100<<10))
			if _, err := server.Write(rest[:n]); err != nil {
				return
			}
			rest = rest[n:]
		}
	}()
	br := bufio.NewReader(rc)
	got := make([]byte, 0, len(want))
	readRng := rand.New(rand.NewPCG(3, 4))
	for len(got) < len(want) {
		if err := rc.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		p := make([]byte, min(len(want)-len(got), 1+readRng.IntN(9000)))
		n, err := io.ReadFull(br, p)
		if err != nil {
			t.Fatalf("after %d bytes: %v", len(got), err)
		}
		got = append(got, p[:n]...)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the bytes read differ from the bytes written")
	}
	if rc.buf != nil {
		t.Error("the read-ahead buffer is held after everything was read")
	}
}

// TestReadAheadConnDeadlines checks that a deadline in the past fails the next read from
// the connection but not one served from what was read ahead, and that a deadline set while a
// read is blocked interrupts it. The read blocked waiting for an answer to a Write holds no
// read-ahead buffer.
func TestReadAheadConnDeadlines(t *testing.T) {
	rc, server := tcpPair(t)
	if _, err := server.Write(bytes.Repeat([]byte("x"), 3000)); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 1000)
	if _, err := io.ReadFull(rc, p); err != nil { // the next reads read ahead
		t.Fatal(err)
	}
	if _, err := io.ReadFull(rc, p); err != nil {
		t.Fatal(err)
	}
	if err := rc.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if n, err := rc.Read(p); n != 1000 || err != nil {
		t.Fatalf("read from the read-ahead buffer after a past deadline = %d, %v; want 1000, nil", n, err)
	}
	if _, err := rc.Read(p); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read from the connection after a past deadline: %v, want a deadline error", err)
	}

	if err := rc.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Write([]byte("request")); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := rc.Read(p)
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rc.mu.Lock()
		reading := rc.reading
		rc.mu.Unlock()
		if reading {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the read never started")
		}
		time.Sleep(time.Millisecond)
	}
	if rc.buf != nil {
		t.Error("a read waiting for an answer holds a read-ahead buffer")
	}
	if err := rc.SetReadDeadline(time.Now()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("blocked read ended with %v, want a deadline error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a deadline set while a read was blocked did not interrupt it")
	}
}

package kafkautil

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

// hungServer accepts connections on 127.0.0.1 and never reads from them or answers, as a hung
// broker does. Its connections are closed by t.Cleanup.
func hungServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var accepted []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepted = append(accepted, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range accepted {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

func TestConnsAbortEndsBlockedReadsAndLaterDials(t *testing.T) {
	addr := hungServer(t)
	conns := NewConns()
	dial := conns.Dial((&net.Dialer{}).DialContext)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	kept, err := dial(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	closed, err := dial(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	if n := conns.Open(); n != 1 {
		t.Fatalf("Open() = %d after one of two connections closed, want 1", n)
	}

	readErr := make(chan error, 1)
	go func() {
		_, err := kept.Read(make([]byte, 1)) // the server never writes: blocks until aborted
		readErr <- err
	}()
	conns.Abort()
	select {
	case err := <-readErr:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("blocked read returned %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a read blocked on an aborted connection did not return")
	}
	if n := conns.Open(); n != 0 {
		t.Errorf("Open() = %d after Abort, want 0", n)
	}
	if _, err := dial(ctx, "tcp", addr); !errors.Is(err, ErrAborted) {
		t.Errorf("dial after Abort = %v, want ErrAborted", err)
	}
	conns.Abort() // again: nothing to do
}

func TestConnsAbortEndsADialInProgress(t *testing.T) {
	conns := NewConns()
	started := make(chan struct{})
	dial := conns.Dial(func(ctx context.Context, _, _ string) (net.Conn, error) {
		close(started)
		<-ctx.Done() // a broker that does not accept: the dial waits for its timeout
		return nil, ctx.Err()
	})
	errc := make(chan error, 1)
	go func() {
		_, err := dial(context.Background(), "tcp", "unreachable:9092")
		errc <- err
	}()
	<-started
	conns.Abort()
	select {
	case err := <-errc:
		if !errors.Is(err, ErrAborted) {
			t.Errorf("dial = %v, want ErrAborted", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a dial in progress did not end at Abort")
	}
}

func TestCloseWithin(t *testing.T) {
	quick := errors.New("closed with an error")
	t.Run("a close that finishes in time returns its error", func(t *testing.T) {
		conns := NewConns()
		err := CloseWithin(context.Background(), conns, func() error { return quick })
		if !errors.Is(err, quick) {
			t.Fatalf("CloseWithin = %v, want %v", err, quick)
		}
	})
	t.Run("a close blocked on a connection is aborted at the deadline", func(t *testing.T) {
		addr := hungServer(t)
		conns := NewConns()
		c, err := conns.Dial((&net.Dialer{}).DialContext)(context.Background(), "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		err = CloseWithin(ctx, conns, func() error {
			_, err := c.Read(make([]byte, 1))
			return err
		})
		if took := time.Since(start); took > 50*time.Millisecond+abortWait+time.Second {
			t.Errorf("CloseWithin took %v", took)
		}
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, net.ErrClosed) {
			t.Errorf("CloseWithin = %v, want the deadline joined with the aborted read's error", err)
		}
	})
	t.Run("a close that does not end is abandoned", func(t *testing.T) {
		conns := NewConns()
		release := make(chan struct{})
		ended := make(chan struct{})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		err := CloseWithin(ctx, conns, func() error {
			defer close(ended)
			<-release
			return nil
		})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("CloseWithin = %v, want the deadline", err)
		}
		close(release)
		<-ended
	})
}

func TestCloseWithinGivesAnEndedContextAMoment(t *testing.T) {
	conns := NewConns()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := CloseWithin(ctx, conns, func() error { return nil }) // nothing to wait for
	if err != nil {
		t.Fatalf("CloseWithin with an ended context and a quick close = %v, want nil", err)
	}
	if n := conns.Open(); n != 0 {
		t.Fatalf("Open() = %d", n)
	}
	if _, err := conns.Dial((&net.Dialer{}).DialContext)(context.Background(), "tcp", hungServer(t)); err != nil {
		t.Errorf("dial after a close that needed no abort = %v, want the connections not aborted", err)
	} else {
		conns.Abort()
	}
}

package kafkatest

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"
)

// Gate sits in every connection of a kfake cluster on the broker's side and slows down or
// holds the requests the broker reads, the way an overloaded or hung broker would. Clients
// still connect; what they send is read late (SetDelay) or not at all until Thaw (Freeze).
// Its methods are safe for concurrent use.
type Gate struct {
	mu     sync.Mutex
	delay  time.Duration
	frozen chan struct{} // non-nil while frozen; closed by Thaw
}

// GatedBrokers is Brokers with a Gate in front of the broker: every connection the broker
// accepts goes through it.
func GatedBrokers(t testing.TB, opts ...kfake.Opt) ([]string, *Gate) {
	t.Helper()
	g := &Gate{}
	brokers := Brokers(t, append(opts, kfake.ListenFn(g.listen))...)
	return brokers, g
}

// SetDelay makes the broker wait d before each read from a connection; 0 removes the delay.
func (g *Gate) SetDelay(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.delay = d
}

// Freeze makes the broker read nothing more from any connection until Thaw: requests hang.
func (g *Gate) Freeze() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.frozen == nil {
		g.frozen = make(chan struct{})
	}
}

// Thaw undoes Freeze.
func (g *Gate) Thaw() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.frozen != nil {
		close(g.frozen)
		g.frozen = nil
	}
}

func (g *Gate) state() (time.Duration, chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.delay, g.frozen
}

func (g *Gate) listen(network, address string) (net.Listener, error) {
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, err
	}
	return &gatedListener{Listener: ln, gate: g}, nil
}

type gatedListener struct {
	net.Listener
	gate *Gate
}

func (l *gatedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &gatedConn{Conn: c, gate: l.gate, closed: make(chan struct{})}, nil
}

// gatedConn waits at the gate before each Read; Close releases a waiting Read.
type gatedConn struct {
	net.Conn
	gate      *Gate
	closeOnce sync.Once
	closed    chan struct{}
}

func (c *gatedConn) Read(p []byte) (int, error) {
	for {
		delay, frozen := c.gate.state()
		if frozen == nil {
			if delay > 0 {
				timer := time.NewTimer(delay)
				select {
				case <-timer.C:
				case <-c.closed:
					timer.Stop()
					return 0, net.ErrClosed
				}
			}
			return c.Conn.Read(p)
		}
		select {
		case <-frozen:
		case <-c.closed:
			return 0, net.ErrClosed
		}
	}
}

func (c *gatedConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// IgnoreHungBroker returns opts and goleak options that ignore the broker's side of the
// connections a frozen Gate holds: the goroutines kfake runs per connection wait there until
// Thaw or the broker's close, even after the client closed its side. With them, a test can
// check that the client's goroutines ended while the broker still hangs:
//
//	goleak.VerifyNone(t, kafkatest.IgnoreHungBroker(goleak.IgnoreCurrent())...)
func IgnoreHungBroker(opts ...goleak.Option) []goleak.Option {
	return append(opts,
		goleak.IgnoreAnyFunction("github.com/seabridge/seabridge/internal/testkit/kafkatest.(*gatedConn).Read"),
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*clientConn).read"),
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*clientConn).write"),
	)
}

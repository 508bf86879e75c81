package emulator

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Slow-subscriber policies: what a publish does when a connection's queue is full.
const (
	PolicyDrop       = "drop"       // drop the frame for that connection and count it
	PolicyDisconnect = "disconnect" // close the slow connection
	PolicyBlock      = "block"      // wait up to BlockTimeout for room, then fail with 503
)

// Options configure a Server. Zero values take the documented defaults.
type Options struct {
	Addr           string        // listen address; default "127.0.0.1:0"
	Clients        []Client      // at least one; more can be created over REST
	PingInterval   time.Duration // websocket ping period; default 25s
	QueueSize      int           // per-connection outbound queue, in frames; default 4096
	SlowSubscriber string        // PolicyDrop (default), PolicyDisconnect or PolicyBlock
	BlockTimeout   time.Duration // with PolicyBlock: the longest a publish waits; default 5s
	MaxBodyBytes   int64         // REST body limit, after gunzip too; default 10 MiB
	Logger         *slog.Logger  // default: discard
	// DataDir, when set, keeps jails, clients (secrets and JWT keys) and schemas in
	// DataDir/state.json across restarts; messages are not kept. The directory is created
	// if needed. Clients seed a directory without a state file; once it has one, the file's
	// clients are used and Clients is ignored. One server per directory.
	DataDir string
}

func (o *Options) setDefaults() error {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 25 * time.Second
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 4096
	}
	switch o.SlowSubscriber {
	case "":
		o.SlowSubscriber = PolicyDrop
	case PolicyDrop, PolicyDisconnect, PolicyBlock:
	default:
		return fmt.Errorf("%w: SlowSubscriber %q (want drop, disconnect or block)", ErrBadOptions, o.SlowSubscriber)
	}
	if o.BlockTimeout <= 0 {
		o.BlockTimeout = 5 * time.Second
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 10 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return nil
}

// Server is an in-memory stream-sea server. All methods are safe for concurrent use.
type Server struct {
	opts     Options
	log      *slog.Logger
	reg      *registry
	handler  http.Handler
	upgrader websocket.Upgrader

	mu      sync.Mutex
	conns   map[*wsConn]struct{} // live websocket connections; guarded by mu
	closed  bool                 // guarded by mu
	started bool                 // guarded by mu
	httpSrv *http.Server         // set by Start; guarded by mu
	addr    string               // set by Start; guarded by mu

	// Of the websocket connections that ended otherwise than by the server: with the
	// client's close frame, or without one (the client dropped the TCP connection).
	clientClosed, clientAborted atomic.Uint64

	faults faultTable
	stop   chan struct{} // closed by Close: aborts requests held by faults, ends the loss reports
	saveMu sync.Mutex    // serialises writes of the state file

	lossMu       sync.Mutex
	lossReported map[*stream]lossCounts // guarded by lossMu

	wg        sync.WaitGroup // every goroutine and in-flight handler of the server
	closeOnce sync.Once
}

// New validates the options and builds a server; nothing runs until Start or Handler is used.
func New(opts Options) (*Server, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	reg, loaded, err := openRegistry(&opts)
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts: opts, log: opts.Logger, reg: reg,
		conns:        map[*wsConn]struct{}{},
		lossReported: map[*stream]lossCounts{},
		faults:       faultTable{reset: make(chan struct{})},
		stop:         make(chan struct{}),
		upgrader:     websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }},
	}
	s.handler = s.routes()
	if opts.DataDir != "" && !loaded {
		if err := s.save(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// openRegistry builds the registry from the data directory's state file when there is one
// (loaded), else from opts.Clients.
func openRegistry(opts *Options) (reg *registry, loaded bool, err error) {
	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
			return nil, false, fmt.Errorf("emulator: data directory: %w", err)
		}
		st, found, err := loadState(opts.DataDir)
		if err != nil {
			return nil, false, err
		}
		if found {
			reg, err := registryFromState(st, statePath(opts.DataDir))
			if err != nil {
				return nil, false, err
			}
			if ignored := reg.unknownClients(opts.Clients); len(ignored) > 0 {
				opts.Logger.Warn("the data directory has its own clients; those given and not in it are ignored",
					"dir", opts.DataDir, "ignored", ignored)
			}
			opts.Logger.Info("emulator state loaded", "file", statePath(opts.DataDir),
				"jails", len(st.Jails), "clients", len(st.Clients))
			return reg, true, nil
		}
	}
	if len(opts.Clients) == 0 {
		return nil, false, ErrNoClients
	}
	reg, err = newRegistry(opts.Clients)
	return reg, false, err
}

// Start listens on Options.Addr and serves in the background until Close.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.started {
		return ErrClosed
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("emulator: listen on %s: %w", s.opts.Addr, err)
	}
	s.started = true
	s.addr = ln.Addr().String()
	s.httpSrv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(2)
	go s.reportLosses()
	go func() {
		defer s.wg.Done()
		if err := s.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("emulator stopped serving", "err", err)
		}
	}()
	s.log.Info("stream-sea emulator listening", "addr", s.addr)
	return nil
}

// URL is the HTTP base, e.g. "http://127.0.0.1:3104"; empty before Start.
func (s *Server) URL() string { return s.baseURL("http://") }

// WSURL is the websocket base, e.g. "ws://127.0.0.1:3104"; empty before Start.
func (s *Server) WSURL() string { return s.baseURL("ws://") }

func (s *Server) baseURL(scheme string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.addr == "" {
		return ""
	}
	return scheme + s.addr
}

// Handler serves the whole API, for mounting in another server. Close still ends its
// websocket connections and waits for its handlers.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops listening, closes every websocket with a close frame (1001 going away) and waits
// until every goroutine and handler of the server has returned. It is idempotent and always
// returns nil.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.stop)
		srv := s.httpSrv
		conns := s.connList(func(*wsConn) bool { return true })
		s.mu.Unlock()
		if srv != nil {
			_ = srv.Close() // closes the listener and idle or active non-websocket connections
		}
		for _, c := range conns {
			c.end(websocket.CloseGoingAway, reasonShutdown)
		}
		s.wg.Wait()
		s.logLosses()
	})
	return nil
}

// DropConnections abruptly closes every websocket connection, as a network failure would, and
// returns how many it closed. The server keeps serving.
func (s *Server) DropConnections() int {
	s.mu.Lock()
	conns := s.connList(func(*wsConn) bool { return true })
	s.mu.Unlock()
	for _, c := range conns {
		c.kill()
	}
	return len(conns)
}

// closeWhere closes the connections whose session matches with a close frame (1008 policy
// violation, reason); used when clients or jails go.
func (s *Server) closeWhere(reason string, match func(*session) bool) {
	s.mu.Lock()
	conns := s.connList(func(c *wsConn) bool {
		sess := c.sess.Load()
		return sess != nil && match(sess)
	})
	s.mu.Unlock()
	for _, c := range conns {
		c.end(websocket.ClosePolicyViolation, reason)
	}
}

// connList returns the matching connections; called with mu held.
func (s *Server) connList(match func(*wsConn) bool) []*wsConn {
	out := make([]*wsConn, 0, len(s.conns))
	for c := range s.conns {
		if match(c) {
			out = append(out, c)
		}
	}
	return out
}

// admit confirms an authentication after the session is stored on the connection: a client
// or jail deleted before this point is refused here, one deleted after finds the session in
// closeWhere.
func (s *Server) admit(sess *session) bool {
	cl, ok := s.reg.client(sess.clientID)
	return ok && cl.jailID == sess.jailID
}

// track registers a connection from the upgrade on, so that Close and DropConnections reach
// it before it authenticates.
func (s *Server) track(c *wsConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) forget(c *wsConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// tracked wraps a handler so that Close waits for it and rejects requests after Close.
func (s *Server) tracked(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			writeError(w, http.StatusServiceUnavailable, "the server is shutting down", nil)
			return
		}
		s.wg.Add(1)
		s.mu.Unlock()
		defer s.wg.Done()
		h.ServeHTTP(w, r)
	})
}

// serveWebsocket upgrades /api/v1/streams and runs the connection on this goroutine.
func (s *Server) serveWebsocket(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) || !strings.EqualFold(r.Method, http.MethodGet) {
		writeError(w, http.StatusBadRequest, "expected a websocket upgrade", nil)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered the client
	}
	c := newWSConn(s, ws)
	if !s.track(c) {
		_ = ws.Close()
		return
	}
	c.serve()
}

package emulator

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Fault kinds: what an injected fault does to a request it matches.
const (
	FaultError   = "error"   // answer with Status (and Retry-After when set), after Latency
	FaultLatency = "latency" // wait Latency, then serve the request normally
	FaultHang    = "hang"    // accept the request and never answer it
)

// Route names a fault can be limited to. An empty route matches every REST route (not the
// websocket upgrade, which must be named).
const (
	RoutePublish   = "publish"   // POST /api/v1/streams/{stream}/publish
	RouteDefine    = "define"    // POST /api/v1/streams/{stream}/define
	RouteDescribe  = "describe"  // GET /api/v1/streams/{stream}/schema
	RouteVersions  = "versions"  // POST /api/v1/schema-versions-vector
	RouteClient    = "client"    // POST, DELETE, PUT /api/v1/client...
	RouteJails     = "jails"     // POST, DELETE /api/v1/jails...
	RouteWebsocket = "websocket" // GET /api/v1/streams (the upgrade request)
)

// streamRoutes are the routes whose path names a stream.
var streamRoutes = []string{RoutePublish, RouteDefine, RouteDescribe}

var allRoutes = []string{RoutePublish, RouteDefine, RouteDescribe, RouteVersions, RouteClient, RouteJails, RouteWebsocket}

// ErrBadFault is returned by AddFault (and answered 400 by POST /emulator/faults) for a fault
// that cannot apply.
var ErrBadFault = errors.New("emulator: invalid fault")

// Fault is one injected failure of the HTTP surface under /api/v1. It applies to the requests
// it matches (Route, Stream) from when it is added until Duration has passed, Count requests
// were served by it, or it is removed, whichever comes first (zero Duration and Count: until
// removed). Faults are checked before authentication, in the order they were added; the first
// match applies.
type Fault struct {
	Kind   string `json:"kind"`             // FaultError, FaultLatency or FaultHang
	Route  string `json:"route,omitempty"`  // a Route* name; empty: every REST route
	Stream string `json:"stream,omitempty"` // only requests naming this stream (publish, define, describe)
	// Status is the answer of an error fault, 400..599; default 500.
	Status int `json:"status,omitempty"`
	// RetryAfter is sent verbatim as the Retry-After header of an error fault: delay seconds
	// ("2") or an HTTP date.
	RetryAfter string `json:"retryAfter,omitempty"`
	// Message is the error body's message; default names the fault.
	Message string `json:"message,omitempty"`
	// Latency delays a latency fault's request (required) or an error fault's answer.
	Latency  time.Duration `json:"-"`
	Duration time.Duration `json:"-"`               // how long the fault stays; zero: no time limit
	Count    int           `json:"count,omitempty"` // how many requests it serves; zero: no limit
}

// FaultState is a fault as it stands: its definition, id, and what is left of it.
type FaultState struct {
	ID string `json:"id"`
	Fault
	LatencyText  string     `json:"latency,omitempty"`
	DurationText string     `json:"duration,omitempty"`
	ExpiresAt    *time.Time `json:"expiresAt,omitempty"` // set when Duration is
	Remaining    int        `json:"remaining,omitempty"` // requests left, set when Count is
	Applied      int        `json:"applied"`             // requests it has served so far
}

// activeFault is a fault in the table; guarded by faultTable.mu.
type activeFault struct {
	id       string
	f        Fault
	expires  time.Time     // zero: no time limit
	left     int           // requests left when f.Count > 0
	applied  int           //
	released chan struct{} // closed when the fault is removed: its hung requests are aborted
	reset    chan struct{} // the table's reset channel when the fault was added
}

// faultTable holds the injected faults of one server.
type faultTable struct {
	mu     sync.Mutex
	next   int
	faults []*activeFault
	// reset is closed by ResetFaults (and replaced): it aborts the requests hung by faults
	// already spent by their count, which are no longer in faults.
	reset chan struct{}
}

func (f *Fault) check() error {
	var errs []error
	switch f.Kind {
	case FaultError:
		if f.Status == 0 {
			f.Status = http.StatusInternalServerError
		}
		if f.Status < 400 || f.Status > 599 {
			errs = append(errs, fmt.Errorf("status %d is not an error status (400..599)", f.Status))
		}
	case FaultLatency:
		if f.Latency <= 0 {
			errs = append(errs, errors.New("a latency fault needs a positive latency"))
		}
	case FaultHang:
	default:
		errs = append(errs, fmt.Errorf("kind %q (want %q, %q or %q)", f.Kind, FaultError, FaultLatency, FaultHang))
	}
	if f.Kind != FaultError && (f.Status != 0 || f.RetryAfter != "" || f.Message != "") {
		errs = append(errs, errors.New("status, retryAfter and message belong to error faults"))
	}
	if f.Kind == FaultHang && f.Latency != 0 {
		errs = append(errs, errors.New("a hang fault takes no latency"))
	}
	if f.Route != "" && !slices.Contains(allRoutes, f.Route) {
		errs = append(errs, fmt.Errorf("route %q (want one of %v, or none for every REST route)", f.Route, allRoutes))
	}
	if f.Stream != "" && f.Route != "" && !slices.Contains(streamRoutes, f.Route) {
		errs = append(errs, fmt.Errorf("route %q names no stream; stream applies to %v", f.Route, streamRoutes))
	}
	if f.Latency < 0 || f.Duration < 0 || f.Count < 0 {
		errs = append(errs, errors.New("latency, duration and count must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrBadFault, err)
	}
	return nil
}

// AddFault checks f, adds it after the existing faults and returns its state (with its id).
func (s *Server) AddFault(f Fault) (FaultState, error) {
	if err := f.check(); err != nil {
		return FaultState{}, err
	}
	t := &s.faults
	t.mu.Lock()
	defer t.mu.Unlock()
	t.next++
	a := &activeFault{id: "f" + strconv.Itoa(t.next), f: f, left: f.Count, released: make(chan struct{}), reset: t.reset}
	if f.Duration > 0 {
		a.expires = time.Now().Add(f.Duration)
	}
	t.faults = append(t.faults, a)
	s.log.Info("fault injected", "id", a.id, "kind", f.Kind, "route", f.Route, "stream", f.Stream,
		"status", f.Status, "duration", f.Duration, "count", f.Count)
	return a.state(), nil
}

// Faults returns the faults in force, in the order they apply.
func (s *Server) Faults() []FaultState {
	t := &s.faults
	t.mu.Lock()
	defer t.mu.Unlock()
	t.prune(time.Now())
	out := make([]FaultState, 0, len(t.faults))
	for _, a := range t.faults {
		out = append(out, a.state())
	}
	return out
}

// RemoveFault removes one fault by id, aborting the requests it holds hung; it reports whether
// the fault was in force.
func (s *Server) RemoveFault(id string) bool {
	t := &s.faults
	t.mu.Lock()
	defer t.mu.Unlock()
	t.prune(time.Now())
	for i, a := range t.faults {
		if a.id == id {
			t.remove(i)
			return true
		}
	}
	return false
}

// ResetFaults removes every fault, aborting the requests they hold hung, and returns how many
// were in force.
func (s *Server) ResetFaults() int {
	t := &s.faults
	t.mu.Lock()
	defer t.mu.Unlock()
	t.prune(time.Now())
	n := len(t.faults)
	for len(t.faults) > 0 {
		t.remove(0)
	}
	close(t.reset)
	t.reset = make(chan struct{})
	return n
}

// match returns the fault that applies to a request of route naming stream, counting it as
// applied, or nil.
func (t *faultTable) match(route, stream string) *activeFault {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.faults) == 0 {
		return nil
	}
	t.prune(time.Now())
	for i, a := range t.faults {
		if !a.matches(route, stream) {
			continue
		}
		a.applied++
		if a.f.Count > 0 {
			if a.left--; a.left == 0 {
				t.faults = slices.Delete(t.faults, i, i+1) // its hung requests stay hung until a reset
			}
		}
		return a
	}
	return nil
}

func (a *activeFault) matches(route, stream string) bool {
	switch {
	case a.f.Route == "" && route == RouteWebsocket:
		return false
	case a.f.Route != "" && a.f.Route != route:
		return false
	}
	return a.f.Stream == "" || a.f.Stream == stream
}

// prune drops the expired faults; called with mu held.
func (t *faultTable) prune(now time.Time) {
	for i := 0; i < len(t.faults); {
		if a := t.faults[i]; !a.expires.IsZero() && !now.Before(a.expires) {
			t.remove(i)
			continue
		}
		i++
	}
}

// remove takes fault i out and releases its hung requests; called with mu held.
func (t *faultTable) remove(i int) {
	close(t.faults[i].released)
	t.faults = slices.Delete(t.faults, i, i+1)
}

func (a *activeFault) state() FaultState {
	st := FaultState{ID: a.id, Fault: a.f, Applied: a.applied}
	if a.f.Latency > 0 {
		st.LatencyText = a.f.Latency.String()
	}
	if a.f.Duration > 0 {
		st.DurationText = a.f.Duration.String()
		exp := a.expires.UTC()
		st.ExpiresAt = &exp
	}
	if a.f.Count > 0 {
		st.Remaining = a.left
	}
	return st
}

// faulted applies the first matching fault to a request of route before h serves it.
func (s *Server) faulted(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := s.faults.match(route, r.PathValue("stream"))
		if a == nil {
			h.ServeHTTP(w, r)
			return
		}
		f := a.f
		if f.Kind == FaultHang {
			select {
			case <-r.Context().Done():
				return
			case <-a.released:
			case <-a.reset:
			case <-s.stop:
			}
			panic(http.ErrAbortHandler) // close the connection without an answer
		}
		if f.Latency > 0 {
			t := time.NewTimer(f.Latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			case <-s.stop:
				t.Stop()
				panic(http.ErrAbortHandler)
			}
		}
		if f.Kind == FaultLatency {
			h.ServeHTTP(w, r)
			return
		}
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		msg := f.Message
		if msg == "" {
			msg = fmt.Sprintf("injected fault %s: %d %s", a.id, f.Status, http.StatusText(f.Status))
		}
		writeError(w, f.Status, msg, nil)
	})
}

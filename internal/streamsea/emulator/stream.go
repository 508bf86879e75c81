package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/seabridge/seabridge/internal/streamsea"
)

// stream is one stream of one jail: its schema, its consumer groups and its counters.
// Publishers read routes and schema without locking; mu serialises changes to both.
type stream struct {
	jailID, name string
	nameJSON     []byte // the stream name as a JSON string, for delivery frames

	mu     sync.Mutex
	groups map[string]*group // by group key; guarded by mu

	schema atomic.Pointer[schemaState]
	routes atomic.Pointer[[]route] // immutable snapshot of groups and members, rebuilt under mu

	published, delivered, dropped atomic.Uint64
	unrouted                      atomic.Uint64 // published while the stream had no subscription
}

// schemaState is a stored definition and the validator compiled from it.
type schemaState struct {
	def       *streamsea.Schema
	validator *streamsea.Validator
}

// group is the set of subscriptions that compete for a stream's messages.
type group struct {
	members []*subscription // guarded by stream.mu
	next    atomic.Uint64   // round-robin position
}

// route is a snapshot of one group's members taken when the group last changed.
type route struct {
	g       *group
	members []*subscription
}

func newStream(jailID, name string) *stream {
	nameJSON, _ := json.Marshal(name) // a string always marshals
	st := &stream{jailID: jailID, name: name, nameJSON: nameJSON, groups: map[string]*group{}}
	st.routes.Store(&[]route{})
	return st
}

// definition returns the stored schema and its validator, or nil when the stream has none.
func (st *stream) definition() *schemaState { return st.schema.Load() }

// define applies the version rules to a definition that already passed its checks. It
// returns the stored definition and whether def replaced it; errBadRequest when def is
// rejected (the stored one is kept).
func (st *stream) define(def *streamsea.Schema) (*streamsea.Schema, bool, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	cur := st.schema.Load()
	if cur != nil {
		switch {
		case def.Version == cur.def.Version && sameDefinition(def, cur.def):
			return cur.def, false, nil
		case def.Version == cur.def.Version:
			return nil, false, fmt.Errorf("%w: version %d of stream %q is already defined with a different definition; the stored definition is kept",
				errBadRequest, def.Version, st.name)
		case def.Version < cur.def.Version:
			return nil, false, fmt.Errorf("%w: cannot define version %d of stream %q: there is already an older version defined (version %d)",
				errBadRequest, def.Version, st.name, cur.def.Version)
		}
	}
	validator, err := streamsea.NewValidator(def)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", errBadRequest, err)
	}
	st.schema.Store(&schemaState{def: def, validator: validator})
	return def, true, nil
}

// join adds a subscription to the group with the given key.
func (st *stream) join(key string, sub *subscription) {
	st.mu.Lock()
	defer st.mu.Unlock()
	g := st.groups[key]
	if g == nil {
		g = &group{}
		st.groups[key] = g
	}
	g.members = append(g.members, sub)
	st.rebuildRoutes()
}

// leave removes a subscription; a group without members disappears.
func (st *stream) leave(key string, sub *subscription) {
	st.mu.Lock()
	defer st.mu.Unlock()
	g := st.groups[key]
	if g == nil {
		return
	}
	for i, m := range g.members {
		if m == sub {
			g.members = append(g.members[:i:i], g.members[i+1:]...)
			break
		}
	}
	if len(g.members) == 0 {
		delete(st.groups, key)
	}
	st.rebuildRoutes()
}

// rebuildRoutes publishes a fresh snapshot; called with mu held.
func (st *stream) rebuildRoutes() {
	routes := make([]route, 0, len(st.groups))
	for _, g := range st.groups {
		routes = append(routes, route{g: g, members: append([]*subscription(nil), g.members...)})
	}
	st.routes.Store(&routes)
}

// subscriptionCount is the number of live subscriptions on the stream.
func (st *stream) subscriptionCount() int {
	n := 0
	for _, r := range *st.routes.Load() {
		n += len(r.members)
	}
	return n
}

// fanOut hands one publication to one member of every group, round robin; a member whose
// client is closing its connection is passed over for the next one. It never blocks unless
// the slow subscriber policy is "block", in which case it returns errPublishTimeout once the
// wait runs out. A publication on a stream without any subscription goes nowhere: it is
// counted as unrouted; one for a group whose every member is closing is dropped for that
// group. May run concurrently with other publications, joins and leaves.
func (st *stream) fanOut(p *publication, w *blockWaiter) error {
	routes := *st.routes.Load()
	if len(routes) == 0 {
		st.unrouted.Add(uint64(p.count()))
		return nil
	}
	for _, r := range routes {
		if err := st.handToGroup(p, r, w); err != nil {
			return err
		}
	}
	return nil
}

// handToGroup hands p to the member of r whose turn it is, or to the next one that is not
// closing.
func (st *stream) handToGroup(p *publication, r route, w *blockWaiter) error {
	n := uint64(len(r.members))
	turn := r.g.next.Add(1) - 1
	for i := range n {
		sub := r.members[(turn+i)%n]
		frame, count := p.frameFor(sub)
		if count == 0 {
			return nil // the chosen member's filter decides
		}
		err := sub.conn.enqueue(outFrame{data: frame, st: st, n: count}, w)
		if !errors.Is(err, errClientClosing) {
			return err
		}
	}
	st.dropped.Add(uint64(p.count()))
	return nil
}

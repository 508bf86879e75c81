package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"fmt"
	"sort"
	"sync"
)

// DefaultJail is the jail of a Client whose JailID is empty.
const DefaultJail = "default"

// Client is one credential. JailID "" means DefaultJail.
type Client struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
	JailID string `json:"jailId,omitempty"`
}

// clientRecord is a client's server-side state; its fields are guarded by registry.mu.
type clientRecord struct {
	id, secret, jailID string
	jwtKey             *rsa.PublicKey
	jwtKeyPEM          string
}

// jailState is one namespace: its streams are invisible to other jails.
type jailState struct {
	id, name string
	streams  map[string]*stream
}

// registry holds clients, jails and streams. Client ids are global (authentication names a
// client, not a jail); stream names are per jail. All methods may run concurrently.
type registry struct {
	mu      sync.RWMutex
	clients map[string]*clientRecord
	jails   map[string]*jailState
}

func newRegistry(clients []Client) (*registry, error) {
	r := &registry{clients: map[string]*clientRecord{}, jails: map[string]*jailState{}}
	r.jails[DefaultJail] = newJail(DefaultJail, DefaultJail)
	for _, c := range clients {
		if c.ID == "" || c.Secret == "" {
			return nil, fmt.Errorf("%w: client %q needs an id and a secret", ErrBadOptions, c.ID)
		}
		if _, dup := r.clients[c.ID]; dup {
			return nil, fmt.Errorf("%w: client %q defined twice", ErrBadOptions, c.ID)
		}
		jail := c.JailID
		if jail == "" {
			jail = DefaultJail
		}
		if r.jails[jail] == nil {
			r.jails[jail] = newJail(jail, jail)
		}
		r.clients[c.ID] = &clientRecord{id: c.ID, secret: c.Secret, jailID: jail}
	}
	return r, nil
}

func newJail(id, name string) *jailState {
	return &jailState{id: id, name: name, streams: map[string]*stream{}}
}

// unknownClients returns the ids of the given clients that the registry does not hold with
// the same secret and jail.
func (r *registry) unknownClients(clients []Client) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []string
	for _, c := range clients {
		jail := c.JailID
		if jail == "" {
			jail = DefaultJail
		}
		if rec := r.clients[c.ID]; rec == nil || rec.secret != c.Secret || rec.jailID != jail {
			out = append(out, c.ID)
		}
	}
	return out
}

// authenticate returns a snapshot of the client when id and secret match.
func (r *registry) authenticate(id, secret string) (clientRecord, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c := r.clients[id]
	if c == nil || c.secret != secret || secret == "" {
		return clientRecord{}, false
	}
	return *c, true
}

// client returns a snapshot of a client.
func (r *registry) client(id string) (clientRecord, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c := r.clients[id]
	if c == nil {
		return clientRecord{}, false
	}
	return *c, true
}

// stream returns the named stream of a jail, creating it when create is set. It returns nil
// when the stream does not exist and create is false, or when the jail is gone.
func (r *registry) stream(jailID, name string, create bool) *stream {
	r.mu.RLock()
	j := r.jails[jailID]
	var st *stream
	if j != nil {
		st = j.streams[name]
	}
	r.mu.RUnlock()
	if st != nil || !create || j == nil {
		return st
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.jails[jailID] != j {
		return nil
	}
	if st = j.streams[name]; st == nil {
		st = newStream(jailID, name)
		j.streams[name] = st
	}
	return st
}

// createClient adds a client to a jail and returns its generated secret.
func (r *registry) createClient(jailID, id string) (string, error) {
	secret := newSecret()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.jails[jailID] == nil {
		return "", errUnknownJail
	}
	if r.clients[id] != nil {
		return "", fmt.Errorf("%w: client %q already exists", errConflict, id)
	}
	r.clients[id] = &clientRecord{id: id, secret: secret, jailID: jailID}
	return secret, nil
}

// deleteClient removes a client of the given jail.
func (r *registry) deleteClient(jailID, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.clients[id]
	if c == nil || c.jailID != jailID {
		return fmt.Errorf("%w: no client %q in this jail", errNotFound, id)
	}
	delete(r.clients, id)
	return nil
}

// rotateSecret gives a client a new secret and returns it.
func (r *registry) rotateSecret(id string) (string, error) {
	secret := newSecret()
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.clients[id]
	if c == nil {
		return "", fmt.Errorf("%w: no client %q", errNotFound, id)
	}
	c.secret = secret
	return secret, nil
}

// setJWTKey sets (key != nil) or clears a client's JWT public key.
func (r *registry) setJWTKey(id string, key *rsa.PublicKey, pem string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.clients[id]
	if c == nil {
		return fmt.Errorf("%w: no client %q", errNotFound, id)
	}
	c.jwtKey, c.jwtKeyPEM = key, pem
	return nil
}

// createJail adds a jail with one client and returns the client's secret.
func (r *registry) createJail(jailID, name, clientID string) (string, error) {
	secret := newSecret()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.jails[jailID] != nil {
		return "", fmt.Errorf("%w: jail %q already exists", errConflict, jailID)
	}
	if r.clients[clientID] != nil {
		return "", fmt.Errorf("%w: client %q already exists", errConflict, clientID)
	}
	r.jails[jailID] = newJail(jailID, name)
	r.clients[clientID] = &clientRecord{id: clientID, secret: secret, jailID: jailID}
	return secret, nil
}

// deleteJail removes a jail, its clients and its streams.
func (r *registry) deleteJail(jailID string) error {
	if jailID == DefaultJail {
		return fmt.Errorf("%w: the default jail cannot be deleted", errBadRequest)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.jails[jailID] == nil {
		return fmt.Errorf("%w: no jail %q", errNotFound, jailID)
	}
	delete(r.jails, jailID)
	for id, c := range r.clients {
		if c.jailID == jailID {
			delete(r.clients, id)
		}
	}
	return nil
}

// streams returns every stream, sorted by jail then name.
func (r *registry) allStreams() []*stream {
	r.mu.RLock()
	var out []*stream
	for _, j := range r.jails {
		for _, st := range j.streams {
			out = append(out, st)
		}
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, k int) bool {
		if out[i].jailID != out[k].jailID {
			return out[i].jailID < out[k].jailID
		}
		return out[i].name < out[k].name
	})
	return out
}

func newSecret() string {
	var b [24]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

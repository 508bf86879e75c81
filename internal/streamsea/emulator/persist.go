package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/seabridge/seabridge/internal/streamsea"
)

// The state file of a data directory.
const (
	StateFileName = "state.json"
	stateFormat   = "seabridge-emulator-state"
	stateVersion  = 1
)

// ErrStateFile is returned by New for a state file that cannot be used: unreadable, not
// JSON, not an emulator state file, written by a newer version, or inconsistent.
var ErrStateFile = errors.New("emulator: unusable state file")

// stateFile is what a data directory keeps: jails with their schemas, and clients. Messages,
// subscriptions, counters and faults are not kept.
type stateFile struct {
	Format  string        `json:"format"`
	Version int           `json:"version"`
	SavedAt time.Time     `json:"savedAt"`
	Jails   []stateJail   `json:"jails"`
	Clients []stateClient `json:"clients"`
}

type stateJail struct {
	ID      string              `json:"id"`
	Name    string              `json:"name"`
	Schemas []*streamsea.Schema `json:"schemas,omitempty"`
}

type stateClient struct {
	ID           string `json:"id"`
	Secret       string `json:"secret"`
	JailID       string `json:"jailId"`
	JWTPublicKey string `json:"jwtPublicKey,omitempty"`
}

// statePath is the state file of dir.
func statePath(dir string) string { return filepath.Join(dir, StateFileName) }

// loadState reads dir's state file; found is false when there is none yet.
func loadState(dir string) (st stateFile, found bool, err error) {
	path := statePath(dir)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return stateFile{}, false, nil
	}
	if err != nil {
		return stateFile{}, false, fmt.Errorf("%w: %w", ErrStateFile, err)
	}
	var probe struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	perr := json.Unmarshal(data, &probe)
	if perr != nil && bytes.Contains(data, []byte(stateFormat)) {
		return stateFile{}, false, fmt.Errorf("%w: %s is damaged (%w); restore it or move it away", ErrStateFile, path, perr)
	}
	if perr != nil || probe.Format != stateFormat {
		return stateFile{}, false, fmt.Errorf("%w: %s is not an emulator state file (it has no \"format\": %q); "+
			"move it away or use another data directory", ErrStateFile, path, stateFormat)
	}
	if probe.Version != stateVersion {
		return stateFile{}, false, fmt.Errorf("%w: %s has version %d; this emulator reads version %d",
			ErrStateFile, path, probe.Version, stateVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return stateFile{}, false, fmt.Errorf("%w: %s is damaged: %w", ErrStateFile, path, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return stateFile{}, false, fmt.Errorf("%w: %s is damaged: data after the state", ErrStateFile, path)
	}
	return st, true, nil
}

// registryFromState rebuilds a registry, checking that the state is consistent.
func registryFromState(st stateFile, path string) (*registry, error) {
	r := &registry{clients: map[string]*clientRecord{}, jails: map[string]*jailState{}}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for i, j := range st.Jails {
		if j.ID == "" || r.jails[j.ID] != nil {
			bad("jails[%d]: id %q is empty or repeated", i, j.ID)
			continue
		}
		js := newJail(j.ID, j.Name)
		r.jails[j.ID] = js
		for k, def := range j.Schemas {
			if def == nil || def.Check() != nil || js.streams[def.Name] != nil {
				bad("jails[%d] (%s).schemas[%d]: not a valid schema, or a repeated stream", i, j.ID, k)
				continue
			}
			stream := newStream(j.ID, def.Name)
			if _, _, err := stream.define(def); err != nil {
				bad("jails[%d] (%s).schemas[%d] (%s): %v", i, j.ID, k, def.Name, err)
				continue
			}
			js.streams[def.Name] = stream
		}
	}
	if r.jails[DefaultJail] == nil {
		bad("the %q jail is missing", DefaultJail)
	}
	for i, c := range st.Clients {
		switch {
		case c.ID == "" || c.Secret == "" || r.clients[c.ID] != nil:
			bad("clients[%d]: id %q is empty or repeated, or the secret is empty", i, c.ID)
			continue
		case r.jails[c.JailID] == nil:
			bad("clients[%d] (%s): jail %q does not exist", i, c.ID, c.JailID)
			continue
		}
		rec := &clientRecord{id: c.ID, secret: c.Secret, jailID: c.JailID}
		if c.JWTPublicKey != "" {
			key, err := jwt.ParseRSAPublicKeyFromPEM([]byte(c.JWTPublicKey))
			if err != nil {
				bad("clients[%d] (%s): jwtPublicKey: %v", i, c.ID, err)
				continue
			}
			rec.jwtKey, rec.jwtKeyPEM = key, c.JWTPublicKey
		}
		r.clients[c.ID] = rec
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrStateFile, path, err)
	}
	return r, nil
}

// snapshot is the registry's state, in a stable order.
func (r *registry) snapshot() stateFile {
	r.mu.RLock()
	st := stateFile{Format: stateFormat, Version: stateVersion, Jails: []stateJail{}, Clients: []stateClient{}}
	for _, j := range r.jails {
		sj := stateJail{ID: j.id, Name: j.name}
		for _, stream := range j.streams {
			if def := stream.definition(); def != nil {
				sj.Schemas = append(sj.Schemas, def.def)
			}
		}
		slices.SortFunc(sj.Schemas, func(a, b *streamsea.Schema) int { return strings.Compare(a.Name, b.Name) })
		st.Jails = append(st.Jails, sj)
	}
	for _, c := range r.clients {
		st.Clients = append(st.Clients, stateClient{ID: c.id, Secret: c.secret, JailID: c.jailID, JWTPublicKey: c.jwtKeyPEM})
	}
	r.mu.RUnlock()
	slices.SortFunc(st.Jails, func(a, b stateJail) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(st.Clients, func(a, b stateClient) int { return strings.Compare(a.ID, b.ID) })
	return st
}

// save writes the registry's state to the data directory, if there is one. Saves are
// serialised, and each writes the state as it is when it starts, so the last one on disk is
// never older than the last change.
func (s *Server) save() error {
	if s.opts.DataDir == "" {
		return nil
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	st := s.reg.snapshot()
	st.SavedAt = time.Now().UTC()
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("emulator: encode the state: %w", err)
	}
	if err := writeFileAtomic(statePath(s.opts.DataDir), append(data, '\n')); err != nil {
		return fmt.Errorf("emulator: save the state in %s: %w", s.opts.DataDir, err)
	}
	return nil
}

// writeFileAtomic replaces path with data so that a crash leaves the old file or the new one,
// never a part: a temporary file in the same directory is written, synced and renamed over
// path, then the directory is synced. The file is readable by its owner only (it holds
// secrets).
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// persisted answers 500 when the change a handler just made could not be saved; it reports
// whether the handler may answer as usual.
func (s *Server) persisted(w http.ResponseWriter) bool {
	if err := s.save(); err != nil {
		s.log.Error("state not saved", "err", err)
		writeError(w, http.StatusInternalServerError, "the change was made in memory but not saved: "+err.Error(), nil)
		return false
	}
	return true
}

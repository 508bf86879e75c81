package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/golang-jwt/jwt/v5"
)

func (s *Server) handleCreateClient(w http.ResponseWriter, r *http.Request, caller clientRecord) {
	var body struct {
		ClientID    string `json:"clientId"`
		Description string `json:"description"`
	}
	if !s.decodeBody(w, r, &body) {
		return
	}
	if body.ClientID == "" {
		writeError(w, http.StatusBadRequest, "clientId must not be empty", nil)
		return
	}
	secret, err := s.reg.createClient(caller.jailID, body.ClientID)
	if err != nil {
		writeErr(w, err)
		return
	}
	if !s.persisted(w) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"givenId": body.ClientID, "secret": secret})
}

func (s *Server) handleDeleteClient(w http.ResponseWriter, r *http.Request, caller clientRecord) {
	id := r.PathValue("id")
	if err := s.reg.deleteClient(caller.jailID, id); err != nil {
		writeErr(w, err)
		return
	}
	s.closeWhere(reasonClientDeleted, func(sess *session) bool { return sess.clientID == id })
	if !s.persisted(w) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": id})
}

// ownID returns the {id} path value when it names the caller; otherwise it answers 403.
func ownID(w http.ResponseWriter, r *http.Request, caller clientRecord) (string, bool) {
	id := r.PathValue("id")
	if id != caller.id {
		writeError(w, http.StatusForbidden, fmt.Sprintf("client %q may only change itself, not %q", caller.id, id), nil)
		return "", false
	}
	return id, true
}

func (s *Server) handleRotateSecret(w http.ResponseWriter, r *http.Request, caller clientRecord) {
	id, ok := ownID(w, r, caller)
	if !ok {
		return
	}
	secret, err := s.reg.rotateSecret(id)
	if err != nil {
		writeErr(w, err)
		return
	}
	if !s.persisted(w) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"givenId": id, "secret": secret})
}

func (s *Server) handleSetJWTKey(w http.ResponseWriter, r *http.Request, caller clientRecord) {
	id, ok := ownID(w, r, caller)
	if !ok {
		return
	}
	var body map[string]json.RawMessage
	if !s.decodeBody(w, r, &body) {
		return
	}
	raw, present := body["jwtPublicKey"]
	if !present {
		writeError(w, http.StatusBadRequest, `the body must be {"jwtPublicKey": "<PEM>" or null}`, nil)
		return
	}
	var pem *string
	if err := json.Unmarshal(raw, &pem); err != nil {
		writeError(w, http.StatusBadRequest, "jwtPublicKey must be a PEM string or null", nil)
		return
	}
	if pem == nil {
		if err := s.reg.setJWTKey(id, nil, ""); err != nil {
			writeErr(w, err)
			return
		}
		if !s.persisted(w) {
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"givenId": id, "jwtPublicKey": nil})
		return
	}
	key, err := jwt.ParseRSAPublicKeyFromPEM([]byte(*pem))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("jwtPublicKey is not a PEM RSA public key: %v", err), nil)
		return
	}
	if err := s.reg.setJWTKey(id, key, *pem); err != nil {
		writeErr(w, err)
		return
	}
	if !s.persisted(w) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"givenId": id, "jwtPublicKey": *pem})
}

func (s *Server) handleCreateJail(w http.ResponseWriter, r *http.Request, _ clientRecord) {
	var body struct {
		NewJailID   string `json:"newJailId"`
		NewJailName string `json:"newJailName"`
		NewClientID string `json:"newClientId"`
	}
	if !s.decodeBody(w, r, &body) {
		return
	}
	if body.NewJailID == "" || body.NewClientID == "" {
		writeError(w, http.StatusBadRequest, "newJailId and newClientId must not be empty", nil)
		return
	}
	secret, err := s.reg.createJail(body.NewJailID, body.NewJailName, body.NewClientID)
	if err != nil {
		writeErr(w, err)
		return
	}
	if !s.persisted(w) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"newJailId": body.NewJailID, "newClientId": body.NewClientID, "newClientSecret": secret,
	})
}

func (s *Server) handleDeleteJail(w http.ResponseWriter, r *http.Request, _ clientRecord) {
	id := r.PathValue("id")
	if err := s.reg.deleteJail(id); err != nil {
		writeErr(w, err)
		return
	}
	s.closeWhere(reasonJailDeleted, func(sess *session) bool { return sess.jailID == id })
	if !s.persisted(w) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": id})
}

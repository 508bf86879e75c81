package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
	"github.com/seabridge/seabridge/internal/streamsea"
)

// handle processes one client frame on the reader goroutine. It returns false when the
// connection must end once the queued answer is written.
func (c *wsConn) handle(data []byte) bool {
	f, err := streamsea.DecodeFrame(data)
	if err != nil {
		c.fail(0, "", fmt.Sprintf("malformed frame: %v", err), true)
		return false
	}
	c.nextID++
	if f.ID != c.nextID {
		c.fail(f.ID, f.Action, fmt.Sprintf("expected a frame with id %d, got id %d", c.nextID, f.ID), true)
		return false
	}
	if c.sess.Load() == nil {
		if f.Action != streamsea.ActionAuthenticate {
			c.fail(f.ID, f.Action, "the first frame must be an authenticate request", true)
			return false
		}
		return c.authenticate(f)
	}
	switch f.Action {
	case streamsea.ActionAuthenticate:
		c.fail(f.ID, f.Action, "only the frame with id 1 may authenticate", false)
	case streamsea.ActionSubscribe:
		c.subscribe(f)
	default:
		c.fail(f.ID, f.Action, fmt.Sprintf("unknown action %q", f.Action), false)
	}
	return true
}

// authenticate checks the first frame; on failure it answers success:false and ends the
// connection.
func (c *wsConn) authenticate(f streamsea.Frame) bool {
	var p streamsea.AuthPayload
	if err := json.Unmarshal(f.Payload, &p); err != nil {
		c.fail(f.ID, f.Action, "the authenticate payload must be an object", true)
		return false
	}
	sess, expiry, err := c.srv.checkCredentials(p)
	if err != nil {
		c.fail(f.ID, f.Action, err.Error(), true)
		return false
	}
	c.sess.Store(sess)
	if !c.srv.admit(sess) { // the client or its jail went away meanwhile
		c.fail(f.ID, f.Action, msgBadCredentials, true)
		return false
	}
	if !expiry.IsZero() {
		c.expiryTimer = time.AfterFunc(time.Until(expiry), func() {
			c.end(websocket.ClosePolicyViolation, reasonJWTExpired)
		})
	}
	payload, _ := json.Marshal(map[string]string{"jailId": sess.jailID})
	yes := true
	c.reply(streamsea.Frame{ID: f.ID, Action: f.Action, Success: &yes, Payload: payload}, false)
	return true
}

// checkCredentials verifies a basic or jwt authenticate payload. For a JWT it also returns
// the token's expiry.
func (s *Server) checkCredentials(p streamsea.AuthPayload) (*session, time.Time, error) {
	invalid := errors.New(msgBadCredentials)
	switch p.Type {
	case "basic":
		cl, ok := s.reg.authenticate(p.ClientID, p.ClientSecret)
		if !ok {
			return nil, time.Time{}, invalid
		}
		return &session{clientID: cl.id, jailID: cl.jailID}, time.Time{}, nil
	case "jwt":
		cl, ok := s.reg.client(p.ClientID)
		if !ok || cl.jwtKey == nil {
			return nil, time.Time{}, invalid
		}
		claims, err := verifyJWT(p.JWT, cl)
		if err != nil {
			return nil, time.Time{}, err
		}
		sess := &session{clientID: cl.id, jailID: cl.jailID, mustFanout: claims.MustFanout}
		if len(claims.Filter) > 0 && string(claims.Filter) != "null" {
			if sess.filter, err = compileFilter(claims.Filter); err != nil {
				return nil, time.Time{}, fmt.Errorf("invalid JWT: %w", err)
			}
		}
		return sess, claims.ExpiresAt.Time, nil
	default:
		return nil, time.Time{}, fmt.Errorf("unknown authentication type %q: use \"basic\" or \"jwt\"", p.Type)
	}
}

// jwtClaims are the claims of a stream-sea JWT.
type jwtClaims struct {
	jwt.RegisteredClaims
	MustFanout bool            `json:"mustFanout"`
	Filter     json.RawMessage `json:"filter,omitempty"`
}

// verifyJWT checks an RS512 token against the client's public key; exp is required.
func verifyJWT(token string, cl clientRecord) (*jwtClaims, error) {
	var claims jwtClaims
	_, err := jwt.ParseWithClaims(token, &claims,
		func(*jwt.Token) (any, error) { return cl.jwtKey, nil },
		jwt.WithValidMethods([]string{"RS512"}), jwt.WithExpirationRequired())
	if err != nil {
		return nil, fmt.Errorf("invalid JWT: %w", err)
	}
	return &claims, nil
}

// subscribe joins the connection to a stream's group and answers with the subscription id.
func (c *wsConn) subscribe(f streamsea.Frame) {
	var name string
	if err := json.Unmarshal(f.Payload, &name); err != nil || name == "" {
		c.fail(f.ID, streamsea.ActionSubscription, "the subscribe payload must be a non-empty stream name", false)
		return
	}
	if f.GroupID != "" && !streamsea.ValidUUID(f.GroupID) {
		c.fail(f.ID, streamsea.ActionSubscription, fmt.Sprintf("groupId %q is not an RFC 4122 UUID (8-4-4-4-12)", f.GroupID), false)
		return
	}
	sess := c.sess.Load()
	st := c.srv.reg.stream(sess.jailID, name, true)
	if st == nil {
		c.fail(f.ID, streamsea.ActionSubscription, "the jail of this client no longer exists", true)
		return
	}
	sub := &subscription{conn: c, id: f.ID, stream: st, filter: sess.filter}
	switch {
	case sess.mustFanout:
		sub.groupKey = fmt.Sprintf("fanout:%p", sub)
	case f.GroupID != "":
		sub.groupKey = "group:" + f.GroupID
	default:
		sub.groupKey = "client:" + sess.clientID
	}
	// The answer is queued before joining, so no delivery overtakes it, and is written only
	// after joining, so a client that has read it receives every later publication.
	joined := make(chan struct{})
	yes := true
	c.replyWhen(streamsea.Frame{ID: f.ID, Action: streamsea.ActionSubscription, Success: &yes,
		StreamName: name, Payload: json.RawMessage(strconv.FormatUint(f.ID, 10))}, false, joined)
	st.join(sub.groupKey, sub)
	c.subs = append(c.subs, sub)
	close(joined)
}

package streamsea

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// CreateClientRequest is the body of a create-client call.
type CreateClientRequest struct {
	ClientID    string `json:"clientId"`
	Description string `json:"description"`
}

// ClientCredentials is the answer of create-client and rotate-secret calls.
type ClientCredentials struct {
	GivenID string `json:"givenId"`
	Secret  string `json:"secret"`
}

// DeletedResponse is the answer of delete-client and delete-jail calls.
type DeletedResponse struct {
	ID string `json:"id"`
}

// SetJWTPublicKeyRequest is the body of a set-JWT-public-key call; a nil key removes it.
type SetJWTPublicKeyRequest struct {
	JWTPublicKey *string `json:"jwtPublicKey"`
}

// JWTPublicKeyResponse is the answer of a set-JWT-public-key call.
type JWTPublicKeyResponse struct {
	GivenID      string  `json:"givenId"`
	JWTPublicKey *string `json:"jwtPublicKey"`
}

// CreateJailRequest is the body of a create-jail call.
type CreateJailRequest struct {
	NewJailID   string `json:"newJailId"`
	NewJailName string `json:"newJailName"`
	NewClientID string `json:"newClientId"`
}

// CreateJailResponse is the answer of a create-jail call: the jail and its first client.
type CreateJailResponse struct {
	NewJailID       string `json:"newJailId"`
	NewClientID     string `json:"newClientId"`
	NewClientSecret string `json:"newClientSecret"`
}

// CreateClient creates a client in the caller's jail.
func (c *Client) CreateClient(ctx context.Context, r CreateClientRequest) (*ClientCredentials, error) {
	var out ClientCredentials
	if err := c.callJSON(ctx, "create client", http.MethodPost, "/client", r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteClient deletes the client id.
func (c *Client) DeleteClient(ctx context.Context, id string) (*DeletedResponse, error) {
	var out DeletedResponse
	if err := c.callID(ctx, "delete client", http.MethodDelete, "/client/", id, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RotateSecret gives the calling client a new secret and returns it. The Client keeps the old
// one: build a new Client with the returned secret for later calls.
func (c *Client) RotateSecret(ctx context.Context) (*ClientCredentials, error) {
	var out ClientCredentials
	if err := c.callID(ctx, "rotate secret", http.MethodPut, "/client/", c.clientID, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetJWTPublicKey sets the PEM public key that verifies the calling client's JWTs; an empty
// publicKeyPEM removes it (sent as null).
func (c *Client) SetJWTPublicKey(ctx context.Context, publicKeyPEM string) (*JWTPublicKeyResponse, error) {
	const op = "set jwt public key"
	var req SetJWTPublicKeyRequest
	if publicKeyPEM != "" {
		req.JWTPublicKey = &publicKeyPEM
	}
	path := "/client/" + url.PathEscape(c.clientID) + "/jwt-public-key"
	var out JWTPublicKeyResponse
	if err := c.callJSON(ctx, op, http.MethodPut, path, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateJail creates a jail with its first client.
func (c *Client) CreateJail(ctx context.Context, r CreateJailRequest) (*CreateJailResponse, error) {
	var out CreateJailResponse
	if err := c.callJSON(ctx, "create jail", http.MethodPost, "/jails", r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteJail deletes the jail id.
func (c *Client) DeleteJail(ctx context.Context, id string) (*DeletedResponse, error) {
	var out DeletedResponse
	if err := c.callID(ctx, "delete jail", http.MethodDelete, "/jails/", id, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// callJSON sends in as the JSON body of one call and decodes the answer into out.
func (c *Client) callJSON(ctx context.Context, op, method, path string, in, out any) error {
	body, err := c.jsonBody(in)
	if err != nil {
		return fmt.Errorf("stream-sea %s: %w", op, err)
	}
	return c.call(ctx, op, method, path, body, out)
}

// callID sends a body-less call to prefix + the escaped id and decodes the answer into out.
func (c *Client) callID(ctx context.Context, op, method, prefix, id string, out any) error {
	if id == "" {
		return fmt.Errorf("stream-sea %s: empty id", op)
	}
	return c.call(ctx, op, method, prefix+url.PathEscape(id), nil, out)
}

package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// clientsFile is the JSON form read by LoadClientsFile:
//
//	{"clients": [{"id": "bridge", "secret": "s3cret", "jailId": "default"}]}
type clientsFile struct {
	Clients []Client `json:"clients"`
}

// LoadClientsFile reads credentials from a JSON file. Unknown keys, a missing id or secret, a
// duplicated id and an empty list are errors (wrapping ErrClientsFile).
func LoadClientsFile(path string) ([]Client, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrClientsFile, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f clientsFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrClientsFile, path, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: %s: unexpected data after the object", ErrClientsFile, path)
	}
	if len(f.Clients) == 0 {
		return nil, fmt.Errorf("%w: %s: no clients", ErrClientsFile, path)
	}
	seen := map[string]bool{}
	for i, c := range f.Clients {
		switch {
		case c.ID == "":
			return nil, fmt.Errorf("%w: %s: clients[%d]: id is empty", ErrClientsFile, path, i)
		case c.Secret == "":
			return nil, fmt.Errorf("%w: %s: clients[%d] (%s): secret is empty", ErrClientsFile, path, i, c.ID)
		case seen[c.ID]:
			return nil, fmt.Errorf("%w: %s: clients[%d]: id %q appears twice", ErrClientsFile, path, i, c.ID)
		}
		seen[c.ID] = true
	}
	return f.Clients, nil
}

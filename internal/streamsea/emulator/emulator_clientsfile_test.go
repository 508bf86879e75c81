package emulator

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestLoadClientsFile(t *testing.T) {
	got, err := LoadClientsFile(filepath.Join("testdata", "clients.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Client{{ID: "bridge", Secret: "bridge-secret"}, {ID: "tenant", Secret: "tenant-secret", JailID: "tenant-jail"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestLoadClientsFileErrors(t *testing.T) {
	dir := t.TempDir()
	tests := map[string]string{
		"empty list":     `{"clients": []}`,
		"unknown key":    `{"clients": [{"id": "a", "secret": "b", "role": "admin"}]}`,
		"missing id":     `{"clients": [{"secret": "b"}]}`,
		"missing secret": `{"clients": [{"id": "a"}]}`,
		"duplicate id":   `{"clients": [{"id": "a", "secret": "b"}, {"id": "a", "secret": "c"}]}`,
		"trailing data":  `{"clients": [{"id": "a", "secret": "b"}]} {}`,
		"not json":       `clients = []`,
	}
	for name, content := range tests {
		path := filepath.Join(dir, name+".json")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadClientsFile(path); !errors.Is(err, ErrClientsFile) {
			t.Errorf("%s: err = %v, want ErrClientsFile", name, err)
		}
	}
	if _, err := LoadClientsFile(filepath.Join(dir, "missing.json")); !errors.Is(err, ErrClientsFile) {
		t.Errorf("missing file: %v", err)
	}
}

package deploycheck

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// RepoPath returns the absolute path of a file of the repository, given relative to its root
// (with forward slashes).
func RepoPath(t testing.TB, rel string) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("deploycheck: cannot locate its own source file")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("deploycheck: no go.mod at the repository root %s: %v", root, err)
	}
	return filepath.Join(root, filepath.FromSlash(rel))
}

// ReadFile returns the content of a file of the repository.
func ReadFile(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(RepoPath(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/seabridge/seabridge/internal/testkit/deploycheck"
)

var (
	goDirective = regexp.MustCompile(`(?m)^go ([0-9][0-9.]*)\s*$`)
	fromLine    = regexp.MustCompile(`(?im)^FROM\s+(\S+)(?:\s+AS\s+(\S+))?\s*$`)
	copyLine    = regexp.MustCompile(`(?im)^COPY\s+(.+)$`)
)

// TestDockerfile checks the build stage's Go version against go.mod's go directive, that the
// runtime stage is the distroless image the compose healthcheck rules assume, and that every
// file copied from the build context exists.
func TestDockerfile(t *testing.T) {
	gomod := goDirective.FindSubmatch(deploycheck.ReadFile(t, "go.mod"))
	if gomod == nil {
		t.Fatal("go.mod has no go directive")
	}
	dockerfile := string(deploycheck.ReadFile(t, "Dockerfile"))
	stages := fromLine.FindAllStringSubmatch(dockerfile, -1)
	if len(stages) < 2 {
		t.Fatalf("Dockerfile: want a build stage and a runtime stage, got %d stages", len(stages))
	}
	build, runtime := stages[0], stages[len(stages)-1]
	image, tag, _ := strings.Cut(build[1], ":")
	tag, _, _ = strings.Cut(tag, "-") // golang:1.26.8-bookworm
	if image != "golang" || tag != string(gomod[1]) {
		t.Errorf("Dockerfile build stage %s: want golang:%s (go.mod's go directive)", build[1], gomod[1])
	}
	if !strings.HasPrefix(runtime[1], "gcr.io/distroless/") {
		t.Errorf("Dockerfile runtime stage %s is not distroless: revisit the healthcheck rules of TestComposeHealthchecksRunInTheImage", runtime[1])
	}
	for _, m := range copyLine.FindAllStringSubmatch(dockerfile, -1) {
		args := strings.Fields(m[1])
		if len(args) < 2 || strings.HasPrefix(args[0], "--from") {
			continue
		}
		for _, src := range args[:len(args)-1] {
			if strings.HasPrefix(src, "--") {
				continue
			}
			if _, err := os.Stat(deploycheck.RepoPath(t, filepath.ToSlash(src))); err != nil {
				t.Errorf("Dockerfile: COPY %s: %v", src, err)
			}
		}
	}
}

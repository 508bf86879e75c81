package deploy

import (
	"path"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/seabridge/seabridge/internal/testkit/deploycheck"
)

var (
	mdLink    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdHeading = regexp.MustCompile(`(?m)^#{1,6}\s+(.+?)\s*$`)
	mdCode    = regexp.MustCompile("(?s)```.*?```")
)

// anchor is GitHub's anchor of a heading: lower case, letters, digits, "-" and "_" kept,
// spaces turned to dashes, everything else dropped.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestAnchor(t *testing.T) {
	for heading, want := range map[string]string{
		"Signals, shutdown and exit codes":          "signals-shutdown-and-exit-codes",
		"Poison messages and the dead-letter topic": "poison-messages-and-the-dead-letter-topic",
		"1. Transport":                      "1-transport",
		"Kafka → stream-sea: at least once": "kafka--stream-sea-at-least-once",
		"`code` heading":                    "code-heading",
	} {
		if got := anchor(heading); got != want {
			t.Errorf("anchor(%q) = %q, want %q", heading, got, want)
		}
	}
}

// TestDocLinks checks the relative links of the operator docs: the file exists and, with a
// #fragment, has a heading with that anchor.
func TestDocLinks(t *testing.T) {
	for _, doc := range []string{"docs/metrics.md", "docs/operations.md", "docs/protocol.md"} {
		text := mdCode.ReplaceAllString(string(deploycheck.ReadFile(t, doc)), "")
		for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") {
				continue
			}
			file, fragment, _ := strings.Cut(target, "#")
			linked := doc
			if file != "" {
				linked = path.Join(path.Dir(doc), file)
			}
			content := string(deploycheck.ReadFile(t, linked))
			if fragment == "" {
				continue
			}
			found := false
			for _, h := range mdHeading.FindAllStringSubmatch(mdCode.ReplaceAllString(content, ""), -1) {
				found = found || anchor(h[1]) == fragment
			}
			if !found {
				t.Errorf("%s: link %s: %s has no heading with anchor %q", doc, target, linked, fragment)
			}
		}
	}
}

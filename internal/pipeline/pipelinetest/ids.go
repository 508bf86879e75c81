package pipelinetest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/seabridge/seabridge/internal/pipeline"
)

// idGen makes the values the suites produce: JSON objects {"id":"<run>-<n>"}, unique per
// subtest run so that messages left over in a shared backend can be told apart.
type idGen struct {
	run  string
	next int
}

func newIDGen() *idGen { return &idGen{run: fmt.Sprintf("%016x", rand.Uint64())} }

// values returns n new values and their ids.
func (g *idGen) values(n int) (values [][]byte, ids []string) {
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%s-%06d", g.run, g.next)
		g.next++
		values = append(values, []byte(`{"id":"`+id+`"}`))
		ids = append(ids, id)
	}
	return values, ids
}

// ours reports whether id was made by g.
func (g *idGen) ours(id string) bool { return strings.HasPrefix(id, g.run+"-") }

// valueID returns the "id" field of a JSON object value, or the whole value as a string.
func valueID(value []byte) string {
	var v struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(value, &v); err == nil && v.ID != "" {
		return v.ID
	}
	return string(value)
}

func messageID(m *pipeline.Message) string { return valueID(m.Value) }

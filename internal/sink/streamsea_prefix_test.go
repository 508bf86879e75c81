package sink

import (
	"fmt"
	"slices"
	"testing"
)

// TestStreamSeaWritePrefixStopsAtTheFirstPoison: WritePrefix publishes the messages before the
// first one that can never be published, in order, and nothing after it, whether local
// validation or the server (bisection) finds it.
func TestStreamSeaWritePrefixStopsAtTheFirstPoison(t *testing.T) {
	t.Run("local validation", func(t *testing.T) {
		f := connectedSink(t, StreamSeaOptions{Schema: desiredSchema(), Validate: true})
		batch := messages(`{"key":"a","count":1}`, `{"key":"b","count":2}`, `{"key":"c","count":"three"}`,
			`{"key":"d","count":4}`, `[5]`)
		err := f.sink.WritePrefix(testCtx(t), batch)
		if got := poisonIndexes(t, err); !slices.Equal(got, []int{2}) {
			t.Fatalf("poison indexes = %v, want [2]", got)
		}
		published, _, _ := f.fake.snapshot()
		if want := []string{`{"key":"a","count":1}`, `{"key":"b","count":2}`}; !slices.Equal(published[testStream], want) {
			t.Errorf("published %v, want only %v", published[testStream], want)
		}
	})
	t.Run("server rejection", func(t *testing.T) {
		f := connectedSink(t, StreamSeaOptions{})
		var values []string
		for i := range 16 {
			v := fmt.Sprintf(`{"i":%d}`, i)
			if i == 5 || i == 11 {
				v = fmt.Sprintf(`{"i":%d,"bad":true}`, i)
			}
			values = append(values, v)
		}
		err := f.sink.WritePrefix(testCtx(t), messages(values...))
		if got := poisonIndexes(t, err); !slices.Equal(got, []int{5}) {
			t.Fatalf("poison indexes = %v, want [5]", got)
		}
		published, _, _ := f.fake.snapshot()
		if want := values[:5]; !slices.Equal(published[testStream], want) {
			t.Errorf("published %v, want only %v", published[testStream], want)
		}
	})
}

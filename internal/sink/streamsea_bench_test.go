package sink

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/streamsea"
)

// BenchmarkStreamSeaWrite writes batches of 500 messages of about 200 bytes, validated against
// a schema, to a server that reads and discards the bodies.
func BenchmarkStreamSeaWrite(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/schema-versions-vector" {
			_, _ = io.WriteString(w, `{"versionsVector":[2]}`)
			return
		}
		if r.URL.Path == "/api/v1/streams/portCall/schema" {
			_, _ = io.WriteString(w, `{"name":"portCall","version":2,"fields":[{"name":"key","type":"string"},{"name":"count","type":"integer"}]}`)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	batch := make([]*pipeline.Message, 500)
	for i := range batch {
		v := fmt.Sprintf(`{"key":"k-%06d-%s","count":%d}`, i, strings.Repeat("x", 160), i)
		batch[i] = &pipeline.Message{Value: []byte(v)}
	}
	for _, gz := range []bool{false, true} {
		b.Run(fmt.Sprintf("gzip=%v", gz), func(b *testing.B) {
			client, err := streamsea.NewClient(streamsea.ClientOptions{BaseURL: srv.URL, ClientID: "c", Gzip: gz})
			if err != nil {
				b.Fatal(err)
			}
			defer client.CloseIdleConnections()
			s, err := NewStreamSea(StreamSeaOptions{
				Pipeline: "bench", Client: client, Stream: testStream, Schema: desiredSchema(), Validate: true,
			}, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Connect(b.Context()); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(batch) * len(batch[0].Value)))
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Write(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "msg/s")
		})
	}
}

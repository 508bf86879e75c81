package streamsea

import (
	"fmt"
	"testing"
)

// BenchmarkPublishBatchBody encodes the body of one PublishBatch of 500 vessel positions (the
// bench's payload and batch size), with and without gzip. One op is one body.
func BenchmarkPublishBatchBody(b *testing.B) {
	payloads := make([][]byte, 500)
	for i := range payloads {
		payloads[i] = fmt.Appendf(nil, `{"ts":1764614400123%06d,"seq":%d,"imo":"IMO95%05d","mmsi":2445%05d,"name":"NORDIC SPIRIT","lat":51.%06d,"lon":3.%06d,"sog":12.%d,"cog":183.%d,"heading":%d,"status":"at_anchor","draught":11.%d,"dest":"NLRTM","eta":"2026-12-17T03:03:00Z","src":"ais"}`,
			i, 500000+i, i, i, 500123+7*i, 500861+13*i, i%10, i%10, i%360, i%10)
	}
	for _, gz := range []bool{false, true} {
		b.Run(fmt.Sprintf("gzip=%v", gz), func(b *testing.B) {
			c, err := NewClient(ClientOptions{BaseURL: "http://127.0.0.1:1", ClientID: "c", Gzip: gz})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			size := 0
			for b.Loop() {
				body, err := c.batchBody(payloads)
				if err != nil {
					b.Fatal(err)
				}
				size = body.len()
				body.release()
			}
			b.ReportMetric(float64(size), "body-bytes")
		})
	}
}

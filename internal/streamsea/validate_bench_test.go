package streamsea

import "testing"

// BenchmarkValidatePosition validates a 15-field vessel position of about 250 bytes, the
// benchmark payload of bridge bench.
func BenchmarkValidatePosition(b *testing.B) {
	schema := &Schema{Name: "positions", Version: 1, Fields: []Field{
		{Name: "ts", Type: TypeInteger}, {Name: "seq", Type: TypeInteger}, {Name: "imo", Type: TypeString},
		{Name: "mmsi", Type: TypeInteger}, {Name: "name", Type: TypeString}, {Name: "lat", Type: TypeFloat},
		{Name: "lon", Type: TypeFloat}, {Name: "sog", Type: TypeFloat}, {Name: "cog", Type: TypeFloat},
		{Name: "heading", Type: TypeInteger}, {Name: "status", Type: TypeEnum, Enum: []string{"under_way", "at_anchor", "moored"}},
		{Name: "draught", Type: TypeFloat}, {Name: "dest", Type: TypeString}, {Name: "eta", Type: TypeDate},
		{Name: "src", Type: TypeString},
	}}
	v, err := NewValidator(schema)
	if err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"ts":1764614400123456789,"seq":500123,"imo":"IMO9500123","mmsi":244500123,"name":"NORDIC SPIRIT","lat":51.500123,"lon":3.500861,"sog":12.3,"cog":183.9,"heading":183,"status":"at_anchor","draught":11.3,"dest":"NLRTM","eta":"2026-12-17T03:03:00Z","src":"ais"}`)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Validate(payload); err != nil {
			b.Fatal(err)
		}
	}
}

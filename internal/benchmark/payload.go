package benchmark

import (
	"bytes"
	"strconv"
)

// The benchmark payload is a vessel position report of 15 fields, about 250 bytes of JSON:
//
//	{"ts":1764614400123456789,"seq":1234567,"imo":"IMO9321483","mmsi":244650123,
//	 "name":"NORDIC SPIRIT","lat":51.94421,"lon":4.13872,"sog":12.4,"cog":231.7,
//	 "heading":232,"status":"under_way","draught":11.2,"dest":"NLRTM",
//	 "eta":"2026-12-02T06:30:00Z","src":"ais"}
//
// ts is the send time in unix nanoseconds, seq the message's sequence number (negative for
// warm-up messages, which readers do not count). Positions, speed and course vary with seq so
// that gzip sees realistic, not constant, bodies.

// positionSchema is the stream-sea schema of the payload, as the TOML of a sink's
// [pipelines.sink.schema] table; %s is the stream name.
const positionSchema = `
[pipelines.sink.schema]
name = %s
version = 1
fields = [
  { name = "ts", type = "integer" },
  { name = "seq", type = "integer" },
  { name = "imo", type = "string" },
  { name = "mmsi", type = "integer" },
  { name = "name", type = "string" },
  { name = "lat", type = "float" },
  { name = "lon", type = "float" },
  { name = "sog", type = "float" },
  { name = "cog", type = "float" },
  { name = "heading", type = "integer" },
  { name = "status", type = "enum", enum = ["under_way", "at_anchor", "moored"] },
  { name = "draught", type = "float" },
  { name = "dest", type = "string" },
  { name = "eta", type = "date" },
  { name = "src", type = "string" },
]
`

// PayloadFields is the number of fields of the benchmark payload.
const PayloadFields = 15

var statuses = [...]string{"under_way", "at_anchor", "moored"}

// appendPosition appends the payload of message seq, sent at sentAt (unix nanos), to dst.
func appendPosition(dst []byte, seq, sentAt int64) []byte {
	v := seq
	if v < 0 {
		v = -v
	}
	dst = append(dst, `{"ts":`...)
	dst = strconv.AppendInt(dst, sentAt, 10)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, `,"imo":"IMO`...)
	dst = strconv.AppendInt(dst, 9_000_000+v%1_000_000, 10)
	dst = append(dst, `","mmsi":`...)
	dst = strconv.AppendInt(dst, 244_000_000+v%1_000_000, 10)
	dst = append(dst, `,"name":"NORDIC SPIRIT","lat":`...)
	dst = appendFixed(dst, 51_000_000+v%900_000, 1_000_000)
	dst = append(dst, `,"lon":`...)
	dst = appendFixed(dst, 3_000_000+(v*7)%2_000_000, 1_000_000)
	dst = append(dst, `,"sog":`...)
	dst = appendFixed(dst, v%250, 10)
	dst = append(dst, `,"cog":`...)
	dst = appendFixed(dst, (v*13)%3600, 10)
	dst = append(dst, `,"heading":`...)
	dst = strconv.AppendInt(dst, (v*13)%360, 10)
	dst = append(dst, `,"status":"`...)
	dst = append(dst, statuses[v%int64(len(statuses))]...)
	dst = append(dst, `","draught":`...)
	dst = appendFixed(dst, 80+v%60, 10)
	dst = append(dst, `,"dest":"NLRTM","eta":"2026-12-`...)
	dst = appendTwo(dst, 10+v%18)
	dst = append(dst, 'T')
	dst = appendTwo(dst, v%24)
	dst = append(dst, ':')
	dst = appendTwo(dst, v%60)
	dst = append(dst, `:00Z","src":"ais"}`...)
	return dst
}

// appendFixed appends v/scale as a decimal with as many fraction digits as scale has zeros.
func appendFixed(dst []byte, v, scale int64) []byte {
	dst = strconv.AppendInt(dst, v/scale, 10)
	dst = append(dst, '.')
	frac := strconv.AppendInt(nil, v%scale+scale, 10) // leading 1 keeps the zeros
	return append(dst, frac[1:]...)
}

func appendTwo(dst []byte, v int64) []byte {
	return append(dst, byte('0'+v/10%10), byte('0'+v%10))
}

// payloadBatch builds payloads in buffers it reuses. A batch's buffers may be overwritten by
// the next fill, so a caller hands them to a synchronous send only.
type payloadBatch struct{ bufs [][]byte }

func newPayloadBatch(n int) *payloadBatch {
	b := &payloadBatch{bufs: make([][]byte, n)}
	for i := range b.bufs {
		b.bufs[i] = make([]byte, 0, 320)
	}
	return b
}

// fill builds k payloads (k <= the batch's capacity) with the sequence numbers firstSeq,
// firstSeq+1, ... all stamped sentAt (unix nanos), and returns them.
func (b *payloadBatch) fill(k int, firstSeq, sentAt int64) [][]byte {
	out := b.bufs[:k]
	for i := range out {
		out[i] = appendPosition(out[i][:0], firstSeq+int64(i), sentAt)
	}
	return out
}

// stamp is what a reader needs from a payload: the send time and the sequence number.
type stamp struct {
	sentAt int64
	seq    int64
}

var (
	tsKey  = []byte(`"ts":`)
	seqKey = []byte(`"seq":`)
)

// readStamp returns the send time and sequence number of payload, and whether both were found.
// It accepts any JSON object whose "ts" and "seq" members are integers (whitespace and member
// order may change on the way).
func readStamp(payload []byte) (stamp, bool) {
	ts, ok1 := intMember(payload, tsKey)
	seq, ok2 := intMember(payload, seqKey)
	return stamp{sentAt: ts, seq: seq}, ok1 && ok2
}

func intMember(payload, key []byte) (int64, bool) {
	i := bytes.Index(payload, key)
	if i < 0 {
		return 0, false
	}
	i += len(key)
	for i < len(payload) && (payload[i] == ' ' || payload[i] == '\t' || payload[i] == '\n' || payload[i] == '\r') {
		i++
	}
	neg := i < len(payload) && payload[i] == '-'
	if neg {
		i++
	}
	var v int64
	start := i
	for ; i < len(payload) && payload[i] >= '0' && payload[i] <= '9' && i-start < 19; i++ {
		v = v*10 + int64(payload[i]-'0')
	}
	if neg {
		v = -v
	}
	return v, i > start
}

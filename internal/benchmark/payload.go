package benchmark

import (
	"bytes"
	"strconv"
)

// MinSize is the smallest payload size: room for the send time, a sequence number and the
// padding field's punctuation.
const MinSize = 64

// tsKey starts the send-time field; payloads begin with it.
var tsKey = []byte(`"ts":`)

// payloadBatch builds the load generators' payloads in buffers it reuses: JSON objects of
// exactly size bytes, {"ts":<unix nanos>,"seq":<n>,"pad":"xxx..."}. A batch's buffers may be
// overwritten by the next fill, so a caller hands them to a synchronous send only.
type payloadBatch struct {
	bufs [][]byte
	size int
	pad  []byte
}

func newPayloadBatch(n, size int) *payloadBatch {
	b := &payloadBatch{bufs: make([][]byte, n), size: size, pad: bytes.Repeat([]byte("x"), size)}
	for i := range b.bufs {
		b.bufs[i] = make([]byte, 0, size)
	}
	return b
}

// fill stamps k payloads (k <= the batch's capacity) with sentAt (unix nanos) and the sequence
// numbers firstSeq, firstSeq+1, ..., and returns them.
func (b *payloadBatch) fill(k int, firstSeq, sentAt int64) [][]byte {
	out := b.bufs[:k]
	for i := range out {
		p := append(out[i][:0], `{"ts":`...)
		p = strconv.AppendInt(p, sentAt, 10)
		p = append(p, `,"seq":`...)
		p = strconv.AppendInt(p, firstSeq+int64(i), 10)
		p = append(p, `,"pad":"`...)
		p = append(p, b.pad[:max(b.size-len(p)-2, 0)]...)
		out[i] = append(p, `"}`...)
	}
	return out
}

// sentAt returns the send time stamped into payload, in unix nanos, and whether it found one.
// It accepts any JSON object whose "ts" member is a non-negative integer (whitespace and
// member order may change on the way).
func sentAt(payload []byte) (int64, bool) {
	i := 0
	if !bytes.HasPrefix(payload, []byte(`{"ts":`)) {
		if i = bytes.Index(payload, tsKey); i < 0 {
			return 0, false
		}
	} else {
		i = 1
	}
	i += len(tsKey)
	for i < len(payload) && (payload[i] == ' ' || payload[i] == '\t' || payload[i] == '\n' || payload[i] == '\r') {
		i++
	}
	var v int64
	start := i
	for ; i < len(payload) && payload[i] >= '0' && payload[i] <= '9' && i-start < 19; i++ {
		v = v*10 + int64(payload[i]-'0')
	}
	return v, i > start
}

package source

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/seabridge/seabridge/internal/pipeline"
)

// A spooled message is: a version byte (spooledVersion), the stream name's length (uvarint)
// and bytes, the receive time (int64 Unix nanoseconds, little endian), and the payload.
const spooledVersion = 1

var errNotSpooled = errors.New("not a spooled stream-sea message")

// encodeSpooled encodes the stream-sea message m for the spool.
func encodeSpooled(m *pipeline.Message) []byte {
	return appendSpooled(make([]byte, 0, 1+binary.MaxVarintLen64+len(m.Stream)+8+len(m.Value)), m)
}

// appendSpooled appends the encoding of m to b.
func appendSpooled(b []byte, m *pipeline.Message) []byte {
	b = append(b, spooledVersion)
	b = binary.AppendUvarint(b, uint64(len(m.Stream)))
	b = append(b, m.Stream...)
	b = binary.LittleEndian.AppendUint64(b, uint64(m.ReceivedAt.UnixNano()))
	return append(b, m.Value...)
}

// decodeSpooled decodes a message encoded by encodeSpooled; Value aliases b.
func decodeSpooled(b []byte) (pipeline.Message, error) {
	if len(b) < 1 || b[0] != spooledVersion {
		return pipeline.Message{}, errNotSpooled
	}
	n, k := binary.Uvarint(b[1:])
	if k <= 0 || n > uint64(len(b)) {
		return pipeline.Message{}, errNotSpooled
	}
	rest := b[1+k:]
	if uint64(len(rest)) < n+8 {
		return pipeline.Message{}, errNotSpooled
	}
	stream := string(rest[:n])
	at := time.Unix(0, int64(binary.LittleEndian.Uint64(rest[n:n+8])))
	return pipeline.Message{Stream: stream, Value: rest[n+8:], ReceivedAt: at, Time: at}, nil
}

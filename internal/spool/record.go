package spool

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// A record on disk, little endian:
//
//	offset  0  uint32  n, the length of data
//	offset  4  uint32  CRC-32C (Castagnoli) of bytes 0..4 and 8..24+n
//	offset  8  uint64  seq, the record's sequence number
//	offset 16  int64   append time, Unix nanoseconds
//	offset 24  data    n bytes
//
// The checksum covers the length, so a damaged length is detected like damaged data.
const recordHeaderBytes = 24

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var (
	// errIncomplete: the bytes end inside the record (more may follow, or the tail is torn).
	errIncomplete = errors.New("incomplete record")
	// errCorrupt: the bytes at this offset are not a valid record.
	errCorrupt = errors.New("corrupt record")
)

// record is one decoded record. data aliases the buffer it was decoded from.
type record struct {
	seq  uint64
	time int64
	data []byte
}

// recordSize is the encoded size of a record holding n bytes of data.
func recordSize(n int) int64 { return recordHeaderBytes + int64(n) }

// appendRecord appends the encoding of one record to dst.
func appendRecord(dst []byte, seq uint64, unixNano int64, data []byte) []byte {
	start := len(dst)
	var h [recordHeaderBytes]byte
	binary.LittleEndian.PutUint32(h[0:4], uint32(len(data)))
	binary.LittleEndian.PutUint64(h[8:16], seq)
	binary.LittleEndian.PutUint64(h[16:24], uint64(unixNano))
	dst = append(dst, h[:]...)
	dst = append(dst, data...)
	binary.LittleEndian.PutUint32(dst[start+4:start+8], recordChecksum(dst[start:]))
	return dst
}

// recordChecksum is the checksum of one encoded record (b starts at the record and holds all
// of it).
func recordChecksum(b []byte) uint32 {
	c := crc32.Update(0, castagnoli, b[0:4])
	return crc32.Update(c, castagnoli, b[8:])
}

// decodeRecord decodes the record at the start of b. It returns errIncomplete when b ends
// inside the record (or inside its header) and errCorrupt when the header or the checksum is
// wrong or the length exceeds maxData. On success n is the record's encoded size.
func decodeRecord(b []byte, maxData int) (rec record, n int, err error) {
	if len(b) < recordHeaderBytes {
		return record{}, 0, errIncomplete
	}
	size := binary.LittleEndian.Uint32(b[0:4])
	if uint64(size) > uint64(maxData) {
		return record{}, 0, errCorrupt
	}
	n = recordHeaderBytes + int(size)
	if len(b) < n {
		return record{}, 0, errIncomplete
	}
	if binary.LittleEndian.Uint32(b[4:8]) != recordChecksum(b[:n]) {
		return record{}, 0, errCorrupt
	}
	return record{
		seq:  binary.LittleEndian.Uint64(b[8:16]),
		time: int64(binary.LittleEndian.Uint64(b[16:24])),
		data: b[recordHeaderBytes:n],
	}, n, nil
}

// peekHeader returns the length and seq fields of the record header at the start of b
// without checking anything; b must hold at least recordHeaderBytes.
func peekHeader(b []byte) (size uint32, seq uint64) {
	return binary.LittleEndian.Uint32(b[0:4]), binary.LittleEndian.Uint64(b[8:16])
}

package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// A segment file is named after the seq its first record may have (%020d.seg) and starts with
// a header: the 8 bytes of segmentMagic and that base seq (uint64, little endian). Records
// follow back to back. A segment's seqs increase strictly; they are contiguous except where
// recovery cut corrupt records out.
const (
	segmentMagic       = "SBSPOOL1"
	segmentHeaderBytes = 16
	segmentSuffix      = ".seg"
	scanChunk          = 256 << 10
)

// segment is the in-memory account of one segment file.
type segment struct {
	base    uint64 // the seq in its name; no record of it is below
	next    uint64 // one past its highest seq; base when empty
	count   int64  // records it holds
	read    int64  // records of it the reader handed out, or that were acked before Open
	size    int64  // bytes, header included
	path    string
	first   int64 // append time of its first and last record, Unix ns; 0 when empty
	last    int64
	dropped bool // deleted by drop_oldest or max_age while records were unread
}

func segmentName(base uint64) string { return fmt.Sprintf("%020d%s", base, segmentSuffix) }

// parseSegmentName returns the base seq of a segment file name.
func parseSegmentName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segmentSuffix)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	base, err := strconv.ParseUint(digits, 10, 64)
	return base, err == nil
}

func segmentHeader(base uint64) []byte {
	h := make([]byte, segmentHeaderBytes)
	copy(h, segmentMagic)
	binary.LittleEndian.PutUint64(h[8:], base)
	return h
}

// validHeader reports whether b starts with the header of a segment of the given base.
func validHeader(b []byte, base uint64) bool {
	return len(b) >= segmentHeaderBytes && string(b[:8]) == segmentMagic &&
		binary.LittleEndian.Uint64(b[8:16]) == base
}

// scanner reads records one after another from a segment file through a buffer. Records it
// returns alias the buffer until the next call. It is used by one goroutine at a time.
type scanner struct {
	r       io.ReaderAt
	maxData int
	buf     []byte
	bufOff  int64 // file offset of buf[0]
	off     int64 // offset of the next record
}

// view returns the buffered bytes from off on, holding at least need bytes or, when limit
// comes first, every byte up to limit. It reads from the file when the buffer lacks them.
func (s *scanner) view(off int64, need int, limit int64) ([]byte, error) {
	end := s.bufOff + int64(len(s.buf))
	if off >= s.bufOff && off <= end && (off+int64(need) <= end || end >= limit) {
		return s.buf[off-s.bufOff : min(int64(len(s.buf)), limit-s.bufOff)], nil
	}
	want := int64(max(need, scanChunk))
	if off+want > limit {
		want = max(limit-off, 0)
	}
	if int64(cap(s.buf)) < want {
		s.buf = make([]byte, want)
	}
	s.buf = s.buf[:want]
	n, err := s.r.ReadAt(s.buf, off)
	s.buf, s.bufOff = s.buf[:n], off
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return s.buf, nil
}

// next decodes the record at s.off, reading no further than limit, without moving s.off. n is
// the record's size. errIncomplete means the bytes up to limit end inside the record.
func (s *scanner) next(limit int64) (rec record, n int, err error) {
	b, err := s.view(s.off, recordHeaderBytes, limit)
	if err != nil {
		return record{}, 0, err
	}
	if len(b) >= recordHeaderBytes {
		size, _ := peekHeader(b)
		if uint64(size) > uint64(s.maxData) {
			return record{}, 0, errCorrupt
		}
		if need := recordHeaderBytes + int(size); len(b) < need {
			if b, err = s.view(s.off, need, limit); err != nil {
				return record{}, 0, err
			}
		}
	}
	return decodeRecord(b, s.maxData)
}

// resync looks for the first valid record at or after from (and before limit) whose seq is
// in [minSeq, maxSeq]. It returns its offset, or found false and the offset to resume a later
// search from once more bytes are there.
func (s *scanner) resync(from, limit int64, minSeq, maxSeq uint64) (off int64, found bool, err error) {
	for p := from; p+recordHeaderBytes <= limit; p++ {
		b, err := s.view(p, recordHeaderBytes, limit)
		if err != nil {
			return p, false, err
		}
		size, seq := peekHeader(b)
		if seq < minSeq || seq > maxSeq || uint64(size) > uint64(s.maxData) ||
			p+recordSize(int(size)) > limit {
			continue
		}
		if b, err = s.view(p, recordHeaderBytes+int(size), limit); err != nil {
			return p, false, err
		}
		if _, _, err := decodeRecord(b, s.maxData); err == nil {
			return p, true, nil
		}
	}
	return max(from, limit-recordHeaderBytes+1), false, nil
}

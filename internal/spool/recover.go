package spool

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// lastSegmentSeqWindow bounds how far above the expected seq a record of the last segment
// may be: far more than a segment can skip, and a window of 2^-32 of the seqs a random header
// could claim.
const lastSegmentSeqWindow = 1 << 32

// damage is what recovery cut out of one segment.
type damage struct {
	records int64 // records lost (a tail that cannot be counted counts as one)
	bytes   int64
	at      int64 // offset of the first damaged byte
}

// listSegments returns the segment files of dir, oldest first, and removes leftovers of
// interrupted rewrites (*.tmp).
func listSegments(dir string) ([]*segment, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []*segment
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return nil, err
			}
			continue
		}
		if base, ok := parseSegmentName(name); ok && e.Type().IsRegular() {
			segs = append(segs, &segment{base: base, next: base, path: filepath.Join(dir, name)})
		}
	}
	slices.SortFunc(segs, func(a, b *segment) int {
		switch {
		case a.base < b.base:
			return -1
		case a.base > b.base:
			return 1
		}
		return 0
	})
	return segs, nil
}

// recoverSegment checks every record of seg's file and repairs what is damaged: a damaged
// tail is truncated; damage followed by valid records is cut out by rewriting the file with
// the valid records only. It fills in seg (see scanSegment) and returns what was cut out (nil
// when nothing was).
func recoverSegment(seg *segment, limit, cursor uint64, maxData int, sync bool) (*damage, error) {
	f, err := os.Open(seg.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	res, err := scanSegment(f, st.Size(), seg, limit, cursor, maxData)
	if err != nil || res.damage.bytes == 0 {
		return nil, err
	}
	if res.rewrite {
		err = rewriteSegment(seg, f, res.extents, sync)
	} else {
		err = truncateSegment(seg, st.Size(), sync)
	}
	return &res.damage, err
}

// scanResult is what scanSegment found in one segment file.
type scanResult struct {
	damage  damage
	extents [][2]int64 // the valid records' byte ranges, after the header
	rewrite bool       // damage is followed by valid records (or the header is damaged)
}

// scanSegment reads the segment r of size bytes and checks each record: its checksum, and a
// seq above the previous one and below limit (the next segment's base; 0 for the last
// segment). After damage it looks for the next valid record. It fills in seg's count, next,
// first, last and size (as the repaired file will be), counting the records below cursor as
// read.
func scanSegment(r io.ReaderAt, size int64, seg *segment, limit, cursor uint64, maxData int) (scanResult, error) {
	var res scanResult
	sc := &scanner{r: r, maxData: maxData, off: segmentHeaderBytes}
	expected := seg.base
	hdr, err := sc.view(0, segmentHeaderBytes, size)
	if err != nil {
		return res, err
	}
	if !validHeader(hdr, seg.base) {
		res.rewrite = size >= segmentHeaderBytes
		sc.off = max(sc.off, min(size, segmentHeaderBytes))
		res.damage.bytes = min(size, segmentHeaderBytes)
	}
	// The last segment has no next base to bound its seqs; seqs jump where damage was cut
	// out before, so the bound is loose: a record found by resync must still pass its checksum.
	maxSeq := func() uint64 {
		if limit > 0 {
			return limit - 1
		}
		return expected + lastSegmentSeqWindow
	}
	for sc.off < size {
		rec, n, err := sc.next(size)
		if err == nil && (rec.seq < expected || rec.seq > maxSeq()) {
			err = errCorrupt
		}
		if err == nil {
			if k := len(res.extents); k > 0 && res.extents[k-1][1] == sc.off {
				res.extents[k-1][1] += int64(n)
			} else {
				res.extents = append(res.extents, [2]int64{sc.off, sc.off + int64(n)})
			}
			seg.count++
			if rec.seq < cursor {
				seg.read++
			}
			if seg.first == 0 {
				seg.first = rec.time
			}
			seg.last = rec.time
			expected = rec.seq + 1
			sc.off += int64(n)
			continue
		}
		if !errors.Is(err, errCorrupt) && !errors.Is(err, errIncomplete) {
			return res, err
		}
		if res.damage.bytes == 0 {
			res.damage.at = sc.off
		}
		at, found, err := sc.resync(sc.off+1, size, expected, maxSeq())
		if err != nil {
			return res, err
		}
		if !found {
			res.damage.bytes += size - sc.off
			switch {
			case limit > expected:
				res.damage.records += int64(limit - expected)
			case limit == 0:
				res.damage.records++
			}
			break
		}
		_, seq := peekHeader(sc.buf[at-sc.bufOff:])
		res.damage.bytes += at - sc.off
		res.damage.records += int64(seq - expected)
		res.rewrite = true
		sc.off = at
	}
	seg.next = expected
	seg.size = segmentHeaderBytes
	for _, e := range res.extents {
		seg.size += e[1] - e[0]
	}
	return res, nil
}

// truncateSegment cuts seg's file to seg.size (a damaged tail), writing a fresh header when
// the file was too short to hold one.
func truncateSegment(seg *segment, size int64, sync bool) error {
	f, err := os.OpenFile(seg.path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if size < segmentHeaderBytes {
		_, err = f.WriteAt(segmentHeader(seg.base), 0)
	}
	if err == nil {
		err = f.Truncate(seg.size)
	}
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// rewriteSegment replaces seg's file with a header and the given extents of src.
func rewriteSegment(seg *segment, src *os.File, extents [][2]int64, sync bool) error {
	tmp := seg.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(segmentHeader(seg.base))
	for _, e := range extents {
		if err != nil {
			break
		}
		_, err = io.Copy(f, io.NewSectionReader(src, e[0], e[1]-e[0]))
	}
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, seg.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rewrite %s: %w", seg.path, err)
	}
	return nil
}

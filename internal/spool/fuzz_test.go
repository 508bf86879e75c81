package spool

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, 1, 2, []byte("data")), uint16(64))
	f.Add(appendRecord(nil, 0, 0, nil), uint16(0))
	f.Add([]byte("not a record at all, but long enough"), uint16(1000))
	f.Fuzz(func(t *testing.T, b []byte, maxData uint16) {
		rec, n, err := decodeRecord(b, int(maxData))
		switch {
		case err == nil:
			if n > len(b) || len(rec.data) > int(maxData) {
				t.Fatalf("decoded %d bytes of %d, data %d > %d", n, len(b), len(rec.data), maxData)
			}
			if again := appendRecord(nil, rec.seq, rec.time, rec.data); !bytes.Equal(again, b[:n]) {
				t.Fatal("a decoded record does not encode to the same bytes")
			}
		case errors.Is(err, errIncomplete):
			if len(b) >= recordHeaderBytes {
				if size, _ := peekHeader(b); recordSize(int(size)) <= int64(len(b)) {
					t.Fatalf("incomplete although the record's %d bytes are there", recordSize(int(size)))
				}
			}
		case !errors.Is(err, errCorrupt):
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// FuzzScanSegment damages a segment of numbered records (overwriting and truncating) and
// checks what recovery keeps: every record before the first damaged byte, only valid records
// in increasing seq order, and a repaired segment that scans clean.
func FuzzScanSegment(f *testing.F) {
	f.Add(uint8(10), uint8(20), uint16(0), []byte{}, uint16(0), uint8(0))
	f.Add(uint8(10), uint8(20), uint16(100), []byte{0xff, 0xff}, uint16(0), uint8(3))
	f.Add(uint8(5), uint8(0), uint16(3), []byte("xx"), uint16(7), uint8(0))
	f.Add(uint8(30), uint8(200), uint16(4000), []byte("garbage garbage"), uint16(1), uint8(30))
	f.Fuzz(func(t *testing.T, nRecords, dataLen uint8, damageAt uint16, dmg []byte, cut uint16, cursor uint8) {
		const base = 100
		nRecords, dataLen = nRecords%64, dataLen%128 // small segments: many executions
		seg := segmentHeader(base)
		var ends []int // end offset of each record
		for i := range int(nRecords) {
			data := fmt.Appendf(nil, "%d:%s", i, bytes.Repeat([]byte{'a' + byte(i%26)}, int(dataLen)))
			seg = appendRecord(seg, base+uint64(i), int64(1000+i), data)
			ends = append(ends, len(seg))
		}
		orig := bytes.Clone(seg)
		firstDamage := len(seg)
		if len(dmg) > 0 {
			at := int(damageAt) % (len(seg) + 1)
			if at+len(dmg) > len(seg) {
				seg = append(seg, make([]byte, at+len(dmg)-len(seg))...)
			}
			copy(seg[at:], dmg)
			for i := range dmg {
				if at+i >= len(orig) || orig[at+i] != dmg[i] {
					firstDamage = min(firstDamage, at+i)
					break
				}
			}
		}
		if c := int(cut) % (len(seg) + 1); c > 0 {
			seg = seg[:len(seg)-c]
			firstDamage = min(firstDamage, len(seg))
		}
		s := &segment{base: base, next: base}
		res, err := scanSegment(bytes.NewReader(seg), int64(len(seg)), s, 0, base+uint64(cursor), 1<<16)
		if err != nil {
			t.Fatal(err)
		}
		intact := 0 // records wholly before the first damaged byte
		for intact < len(ends) && ends[intact] <= firstDamage {
			intact++
		}
		if firstDamage >= segmentHeaderBytes && intact > 0 &&
			(len(res.extents) == 0 || res.extents[0][0] != segmentHeaderBytes || res.extents[0][1] < int64(ends[intact-1])) {
			t.Fatalf("the %d intact records are not all kept: extents %v", intact, res.extents)
		}
		if firstDamage == len(orig) && len(seg) == len(orig) && (res.damage.bytes != 0 || s.count != int64(nRecords)) {
			t.Fatalf("undamaged segment: damage %+v, %d records", res.damage, s.count)
		}
		repaired := segmentHeader(base)
		prev := int64(segmentHeaderBytes)
		for _, e := range res.extents {
			if e[0] < prev || e[1] <= e[0] || e[1] > int64(len(seg)) {
				t.Fatalf("bad extents %v", res.extents)
			}
			repaired = append(repaired, seg[e[0]:e[1]]...)
			prev = e[1]
		}
		if int64(len(repaired)) != s.size {
			t.Fatalf("size %d, repaired segment has %d bytes", s.size, len(repaired))
		}
		again := &segment{base: base, next: base}
		res2, err := scanSegment(bytes.NewReader(repaired), int64(len(repaired)), again, 0, 0, 1<<16)
		if err != nil || res2.damage.bytes != 0 || again.count != s.count || again.next != s.next {
			t.Fatalf("repaired segment scans as %+v, %d records (err %v), want clean with %d", res2.damage, again.count, err, s.count)
		}
		sc := &scanner{r: bytes.NewReader(repaired), maxData: 1 << 16, off: segmentHeaderBytes}
		last := uint64(0)
		for sc.off < int64(len(repaired)) {
			rec, n, err := sc.next(int64(len(repaired)))
			if err != nil || (last != 0 && rec.seq <= last) {
				t.Fatalf("repaired segment: record at %d: seq %d after %d, err %v", sc.off, rec.seq, last, err)
			}
			last = rec.seq
			sc.off += int64(n)
		}
	})
}

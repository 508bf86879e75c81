package spool

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestDecodeRecord(t *testing.T) {
	good := appendRecord(nil, 7, 42, []byte("hello"))
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x01
		return b
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"valid", good, nil},
		{"valid with more after it", append(bytes.Clone(good), 1, 2, 3), nil},
		{"empty", nil, errIncomplete},
		{"header cut", good[:10], errIncomplete},
		{"data cut", good[:len(good)-1], errIncomplete},
		{"length damaged", flip(0), errCorrupt},
		{"checksum damaged", flip(5), errCorrupt},
		{"seq damaged", flip(9), errCorrupt},
		{"time damaged", flip(17), errCorrupt},
		{"data damaged", flip(recordHeaderBytes + 2), errCorrupt},
		{"length above the limit", appendRecord(nil, 1, 1, make([]byte, 100)), errCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, n, err := decodeRecord(tc.in, 64)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if err == nil && (rec.seq != 7 || rec.time != 42 || string(rec.data) != "hello" || n != len(good)) {
				t.Fatalf("decoded %+v (%d bytes)", rec, n)
			}
		})
	}
}

// damagedRig appends records, crashes, and hands the only segment file to damage.
func damagedRig(t *testing.T, records []string, damage func(path string, offsets []int64)) *rig {
	t.Helper()
	r := newRig(t, Options{})
	var offsets []int64 // where each record starts
	off := int64(segmentHeaderBytes)
	for _, rec := range records {
		offsets = append(offsets, off)
		off += recordSize(len(rec))
	}
	r.append(records...)
	r.crash()
	files := segmentFiles(t, r.opts.Dir)
	damage(files[len(files)-1], offsets)
	r.open()
	return r
}

func overwrite(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestRecoveryTruncatesATornTail(t *testing.T) {
	all := numbered(0, 10)
	r := damagedRig(t, all, func(path string, _ []int64) {
		if err := os.Truncate(path, fileSize(t, path)-5); err != nil {
			t.Fatal(err)
		}
	})
	if got := r.drain(true); !slices.Equal(got, all[:9]) {
		t.Fatalf("read %v, want the 9 whole records", got)
	}
	if c, b := r.counter("corrupt"), r.counter("corrupt_bytes"); c != 1 || b != float64(recordSize(13)-5) {
		t.Fatalf("corrupt records %v bytes %v, want 1 and %d", c, b, recordSize(13)-5)
	}
	if st := r.s.Stats(); st.Corrupt != 1 || st.Dropped != 0 {
		t.Fatalf("stats %+v: want the damaged record in Corrupt", st)
	}
}

func TestRecoveryTruncatesAnOverwrittenTail(t *testing.T) {
	all := numbered(0, 10)
	var path string
	r := damagedRig(t, all, func(p string, _ []int64) {
		path = p
		overwrite(t, p, fileSize(t, p)-10, bytes.Repeat([]byte{0xff}, 10))
	})
	// Before anything is acked: once every record in it is, housekeeping deletes the segment.
	if size := fileSize(t, path); size != segmentHeaderBytes+9*recordSize(13) {
		t.Fatalf("segment is %d bytes after recovery, want the tail truncated", size)
	}
	if got := r.drain(true); !slices.Equal(got, all[:9]) {
		t.Fatalf("read %v, want every record before the damaged one", got)
	}
	if r.counter("corrupt") != 1 {
		t.Fatalf("corrupt records %v, want 1", r.counter("corrupt"))
	}
	r.append("after")
	if got := r.drain(true); !slices.Equal(got, []string{"after"}) {
		t.Fatalf("read %v after appending past the recovery", got)
	}
}

func TestRecoveryCutsOutDamageAndKeepsTheRecordsAfterIt(t *testing.T) {
	all := numbered(0, 10)
	r := damagedRig(t, all, func(p string, offsets []int64) {
		overwrite(t, p, offsets[3]+recordHeaderBytes+2, []byte("XXXX")) // record 3's data
	})
	want := append(append([]string(nil), all[:3]...), all[4:]...)
	if got := r.drain(true); !slices.Equal(got, want) {
		t.Fatalf("read %v, want all but record 3", got)
	}
	if r.counter("corrupt") != 1 || r.counter("corrupt_bytes") != float64(recordSize(13)) {
		t.Fatalf("corrupt records %v bytes %v, want 1 and %d", r.counter("corrupt"), r.counter("corrupt_bytes"), recordSize(13))
	}
	r.restart(true) // the rewritten segment is clean now
	if r.counter("corrupt") != 0 {
		t.Fatal("a second recovery found damage again")
	}
}

func TestRecoveryCountsDamageAtTheEndOfASealedSegment(t *testing.T) {
	r := newRig(t, Options{SegmentBytes: 200})
	all := numbered(0, 30) // 37 bytes each: 4 a segment
	r.append(all...)
	r.crash()
	files := segmentFiles(t, r.opts.Dir)
	if len(files) < 3 {
		t.Fatalf("%d segments, want several", len(files))
	}
	first := files[0]
	// Damage from inside record 2 into record 3, the segment's last two.
	overwrite(t, first, fileSize(t, first)-2*recordSize(13)+3, bytes.Repeat([]byte("garbage!"), 5))
	r.open()
	got := r.drain(true)
	if !slices.Equal(got, append(append([]string(nil), all[:2]...), all[4:]...)) {
		t.Fatalf("read %v, want all but records 2 and 3", got)
	}
	if r.counter("corrupt") != 2 {
		t.Fatalf("corrupt records %v, want exactly 2 (the next segment's base tells)", r.counter("corrupt"))
	}
}

func TestRecoveryRewritesADamagedHeader(t *testing.T) {
	all := numbered(0, 5)
	r := damagedRig(t, all, func(p string, _ []int64) { overwrite(t, p, 2, []byte("??")) })
	if got := r.drain(true); !slices.Equal(got, all) {
		t.Fatalf("read %v, want every record", got)
	}
	if r.counter("corrupt") != 0 || r.counter("corrupt_bytes") != segmentHeaderBytes {
		t.Fatalf("corrupt records %v bytes %v, want 0 and the header", r.counter("corrupt"), r.counter("corrupt_bytes"))
	}
}

func TestRecoveryOfGarbageAndEmptyFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, segmentName(0)), bytes.Repeat([]byte("garbage!"), 100), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, segmentName(500)), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, Options{Dir: dir})
	if got := r.drain(true); len(got) != 0 {
		t.Fatalf("read %v from garbage", got)
	}
	if r.counter("corrupt") == 0 {
		t.Fatal("garbage was not counted")
	}
	r.append("ok")
	if got := r.drain(true); !slices.Equal(got, []string{"ok"}) {
		t.Fatalf("read %v", got)
	}
	if st := r.s.Stats(); st.NextSeq < 501 {
		t.Fatalf("next seq %d reuses a seq of an existing segment name", st.NextSeq)
	}
}

func TestCorruptCursorReplaysEverything(t *testing.T) {
	r := newRig(t, Options{})
	r.append(numbered(0, 5)...)
	for range 3 {
		if err := r.s.Ack(r.next().Seq); err != nil {
			t.Fatal(err)
		}
	}
	r.restart(false)
	if err := os.WriteFile(filepath.Join(r.opts.Dir, cursorFile), []byte("nonsense"), 0o600); err != nil {
		t.Fatal(err)
	}
	r.restart(true)
	if got := r.drain(true); !slices.Equal(got, numbered(0, 5)) {
		t.Fatalf("read %v, want every record (duplicates rather than loss)", got)
	}
}

func TestDamageFoundWhileReadingIsSkippedAndCounted(t *testing.T) {
	r := newRig(t, Options{SegmentBytes: 200})
	all := numbered(0, 12)
	r.append(all...)
	files := segmentFiles(t, r.opts.Dir)
	overwrite(t, files[0], segmentHeaderBytes+recordSize(13)+5, []byte("!!")) // record 1, sealed
	got := r.drain(true)
	if !slices.Equal(got, append([]string{all[0]}, all[2:]...)) {
		t.Fatalf("read %v, want all but record 1", got)
	}
	if r.counter("corrupt") != 1 {
		t.Fatalf("corrupt records %v, want 1", r.counter("corrupt"))
	}
	if st := r.s.Stats(); st.Records != 0 || st.Acked != 12 {
		t.Fatalf("stats %+v after reading past the damage", st)
	}
}

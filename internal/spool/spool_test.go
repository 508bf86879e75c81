package spool

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAppendNextAckInOrder(t *testing.T) {
	r := newRig(t, Options{})
	want := numbered(0, 100)
	if n := r.append(want...); n != 100 {
		t.Fatalf("appended %d, want 100", n)
	}
	if got := r.drain(true); !slices.Equal(got, want) {
		t.Fatalf("read %d records, want the 100 appended in order: %v", len(got), got)
	}
	if st := r.s.Stats(); st.Records != 0 || st.Acked != 100 || st.NextSeq != 100 {
		t.Fatalf("stats after acking everything: %+v", st)
	}
}

func TestReplayAfterRestart(t *testing.T) {
	for _, crash := range []bool{false, true} {
		name := "close"
		if crash {
			name = "crash"
		}
		t.Run(name, func(t *testing.T) {
			r := newRig(t, Options{})
			r.append(numbered(0, 10)...)
			for i := 0; i < 4; i++ {
				if err := r.s.Ack(r.next().Seq); err != nil {
					t.Fatal(err)
				}
			}
			r.next() // handed out, never acked
			if crash {
				r.s.housekeep() // the cursor is persisted before the crash
			}
			r.restart(crash)
			if got, want := r.drain(true), numbered(4, 10); !slices.Equal(got, want) {
				t.Fatalf("after restart read %v, want %v", got, want)
			}
			r.append("new")
			if got := r.drain(true); !slices.Equal(got, []string{"new"}) {
				t.Fatalf("after replay read %v, want [new]", got)
			}
		})
	}
}

func TestCrashBeforeCursorPersistedReplaysAckedRecords(t *testing.T) {
	r := newRig(t, Options{})
	r.append(numbered(0, 5)...)
	for range 5 {
		if err := r.s.Ack(r.next().Seq); err != nil {
			t.Fatal(err)
		}
	}
	r.restart(true) // acks not yet persisted: the records come again (duplicates, no gaps)
	if got := r.drain(true); !slices.Equal(got, numbered(0, 5)) {
		t.Fatalf("after a crash read %v, want every record again", got)
	}
}

func TestOutOfOrderAcksAdvanceOverThePrefix(t *testing.T) {
	r := newRig(t, Options{})
	r.append(numbered(0, 6)...)
	var seqs []uint64
	for range 6 {
		seqs = append(seqs, r.next().Seq)
	}
	for _, i := range []int{1, 2, 4} {
		if err := r.s.Ack(seqs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if st := r.s.Stats(); st.Acked != 0 || st.Records != 3 {
		t.Fatalf("with record 0 unacked the cursor moved: %+v", st)
	}
	if err := r.s.Ack(seqs[0]); err != nil {
		t.Fatal(err)
	}
	if st := r.s.Stats(); st.Acked != 3 {
		t.Fatalf("cursor %d after acking 0,1,2 (and 4), want 3", st.Acked)
	}
	if err := r.s.Ack(seqs[1]); !errors.Is(err, nil) {
		t.Fatalf("ack below the cursor: %v", err)
	}
	if err := r.s.Ack(seqs[4]); !errors.Is(err, ErrAckedTwice) {
		t.Fatalf("second ack of 4: %v, want ErrAckedTwice", err)
	}
	if err := r.s.Ack(99); !errors.Is(err, ErrUnknownSeq) {
		t.Fatalf("ack of a seq never handed out: %v, want ErrUnknownSeq", err)
	}
	r.s.housekeep()
	r.restart(true)
	if got, want := r.drain(false), []string{"record-000003", "record-000004", "record-000005"}; !slices.Equal(got, want) {
		t.Fatalf("after restart read %v, want %v (4 was acked out of order, beyond the cursor)", got, want)
	}
}

func TestAcknowledgedSegmentsAreDeleted(t *testing.T) {
	r := newRig(t, Options{SegmentBytes: 1024})
	r.append(numbered(0, 200)...) // ~37 bytes a record: several segments
	if n := len(segmentFiles(t, r.opts.Dir)); n < 5 {
		t.Fatalf("%d segment files, want several", n)
	}
	before := r.s.Stats().Bytes
	r.drain(true)
	r.s.housekeep()
	if files := segmentFiles(t, r.opts.Dir); len(files) != 1 {
		t.Fatalf("after acking everything %d segment files remain: %v", len(files), files)
	}
	if st := r.s.Stats(); st.Bytes >= before || st.Segments != 1 {
		t.Fatalf("stats after deletion %+v (bytes before %d)", st, before)
	}
}

func TestLockRefusesASecondOpen(t *testing.T) {
	r := newRig(t, Options{})
	_, err := Open(r.opts, quiet, nil)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), r.opts.Dir) || !strings.Contains(err.Error(), "process") {
		t.Fatalf("error %q does not name the directory and the holder", err)
	}
	r.restart(false) // Close releases it
}

func TestBlockWaitsForRoom(t *testing.T) {
	r := newRig(t, Options{MaxBytes: 2048, SegmentBytes: 512, WhenFull: Block})
	rec := strings.Repeat("x", 100) // 124 bytes on disk
	n := 0
	for r.s.Stats().Bytes+recordSize(len(rec)) <= 2048 {
		n += r.append(rec)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	got, err := r.s.Append(ctx, []byte(rec))
	cancel()
	if got != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Append into a full spool: %d, %v; want it to block until ctx ends", got, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.s.Append(context.Background(), []byte("after room"))
		done <- err
	}()
	for range n { // acknowledging frees the oldest segment
		if err := r.s.Ack(r.next().Seq); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Append still blocked after every record was acknowledged")
	}
	if got := r.drain(true); !slices.Equal(got, []string{"after room"}) {
		t.Fatalf("read %v after room was made", got)
	}
	if d := r.counter("dropped", ReasonDropNewest) + r.counter("dropped", ReasonDropOldest); d != 0 {
		t.Fatalf("block dropped %v records", d)
	}
}

func TestBlockReturnsOnClose(t *testing.T) {
	r := newRig(t, Options{MaxBytes: 1024, SegmentBytes: 256, WhenFull: Block})
	for r.s.Stats().Bytes+recordSize(50) <= 1024 {
		r.append(strings.Repeat("y", 50))
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.s.Append(context.Background(), []byte(strings.Repeat("y", 50)))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond) // let it block; the result is the same if it did not yet
	r.s.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("blocked Append after Close: %v, want ErrClosed", err)
	}
}

func TestDropNewestCountsEveryDrop(t *testing.T) {
	r := newRig(t, Options{MaxBytes: 2048, SegmentBytes: 512, WhenFull: DropNewest})
	all := numbered(0, 200) // 37 bytes on disk each: about 50 fit
	var appended []string
	for _, rec := range all {
		if r.append(rec) == 1 {
			appended = append(appended, rec)
		}
	}
	dropped := r.counter("dropped", ReasonDropNewest)
	if int(dropped) != len(all)-len(appended) || dropped == 0 {
		t.Fatalf("dropped counter %v, appended %d of %d", dropped, len(appended), len(all))
	}
	if !slices.Equal(appended, all[:len(appended)]) {
		t.Fatal("drop_newest kept records other than the oldest ones")
	}
	if st := r.s.Stats(); st.Dropped != int64(dropped) {
		t.Fatalf("stats %+v: want Dropped %v", st, dropped)
	}
	if got := r.drain(true); !slices.Equal(got, appended) {
		t.Fatalf("read %d records, want the %d appended", len(got), len(appended))
	}
}

func TestDropOldestCountsEveryDrop(t *testing.T) {
	r := newRig(t, Options{MaxBytes: 2048, SegmentBytes: 512, WhenFull: DropOldest})
	all := numbered(0, 200)
	for _, rec := range all {
		if r.append(rec) != 1 {
			t.Fatal("drop_oldest refused a new record")
		}
	}
	if st := r.s.Stats(); st.Bytes > 2048 {
		t.Fatalf("spool holds %d bytes, above max_bytes", st.Bytes)
	}
	got := r.drain(true)
	dropped := int(r.counter("dropped", ReasonDropOldest))
	if dropped == 0 || dropped+len(got) != len(all) {
		t.Fatalf("read %d, dropped counter %d: together %d, want %d", len(got), dropped, dropped+len(got), len(all))
	}
	if !slices.Equal(got, all[dropped:]) {
		t.Fatalf("drop_oldest did not keep the newest records: read %v", got)
	}
}

func TestDropOldestKeepsRecordsInFlight(t *testing.T) {
	r := newRig(t, Options{MaxBytes: 2048, SegmentBytes: 512, WhenFull: DropOldest})
	r.append(numbered(0, 5)...)
	var inFlight []Record
	for range 5 {
		inFlight = append(inFlight, r.next())
	}
	r.append(numbered(5, 200)...) // the segment of the in-flight records is dropped
	for _, rec := range inFlight {
		if err := r.s.Ack(rec.Seq); err != nil {
			t.Fatalf("ack of an in-flight record whose segment was dropped: %v", err)
		}
	}
	got := r.drain(true)
	dropped := int(r.counter("dropped", ReasonDropOldest))
	if 5+dropped+len(got) != 200 {
		t.Fatalf("5 in flight + %d dropped + %d read != 200", dropped, len(got))
	}
}

// Records handed out and never acknowledged whose segment drop_oldest deleted cannot be handed
// out again: Close counts them as dropped, and they are not counted as left in the spool.
func TestDropOldestCountsRecordsInFlightNeverAcknowledged(t *testing.T) {
	r := newRig(t, Options{MaxBytes: 2048, SegmentBytes: 512, WhenFull: DropOldest})
	r.append(numbered(0, 5)...)
	var inFlight []Record
	for range 5 {
		inFlight = append(inFlight, r.next())
	}
	r.append(numbered(5, 200)...) // the segment of the in-flight records is dropped
	if err := r.s.Ack(inFlight[1].Seq); err != nil {
		t.Fatal(err)
	}
	unread := r.counter("dropped", ReasonDropOldest)
	if err := r.s.Close(); err != nil {
		t.Fatal(err)
	}
	st := r.s.Stats()
	if d := r.counter("dropped", ReasonDropOldest); d != unread+4 || st.Dropped != int64(d) {
		t.Fatalf("dropped counter %v (%v before Close), Stats.Dropped %d: want the 4 never acknowledged added", d, unread, st.Dropped)
	}
	r.open()
	got := r.drain(true)
	if left := st.Records; int(left) != len(got) {
		t.Fatalf("Close left %d records, the next Open hands out %d", left, len(got))
	}
	if 1+int(unread)+4+len(got) != 200 {
		t.Fatalf("1 acked + %v dropped unread + 4 dropped in flight + %d read != 200", unread, len(got))
	}
}

func TestTooLargeRecordIsDropped(t *testing.T) {
	r := newRig(t, Options{MaxBytes: 1024, WhenFull: Block})
	if n := r.append(strings.Repeat("z", 2000)); n != 0 {
		t.Fatal("a record larger than max_bytes was appended")
	}
	if r.counter("dropped", ReasonTooLarge) != 1 {
		t.Fatal("the too-large record was not counted")
	}
}

func TestMaxAgeDropsOldRecords(t *testing.T) {
	clock := time.Unix(1_700_000_000, 0)
	r := newRig(t, Options{MaxAge: time.Minute, SegmentBytes: 256})
	r.s.mu.Lock()
	r.s.now = func() time.Time { return clock }
	r.s.mu.Unlock()
	r.append(numbered(0, 20)...) // several segments
	r.s.mu.Lock()
	clock = clock.Add(2 * time.Minute)
	r.s.mu.Unlock()
	r.append("fresh")
	r.s.housekeep() // sealed expired segments are deleted
	got := r.drain(true)
	if !slices.Equal(got, []string{"fresh"}) {
		t.Fatalf("read %v, want only the fresh record", got)
	}
	if d := r.counter("dropped", ReasonMaxAge); d != 20 {
		t.Fatalf("max_age dropped counter %v, want 20", d)
	}
	if st := r.s.Stats(); st.Records != 0 {
		t.Fatalf("stats %+v: records left", st)
	}
}

func TestFsyncPolicies(t *testing.T) {
	for _, tc := range []struct {
		policy   Fsync
		minSyncs int
	}{{FsyncAlways, 10}, {FsyncInterval, 1}, {FsyncNever, 0}} {
		t.Run(string(tc.policy), func(t *testing.T) {
			r := newRig(t, Options{Fsync: tc.policy, FsyncInterval: 10 * time.Millisecond})
			for i := range 10 {
				r.append(numbered(i, i+1)...)
			}
			r.s.lastSync = time.Time{}
			r.s.housekeep()
			syncs := histogramCount(t, r, "seabridge_spool_fsync_duration_seconds")
			if syncs < tc.minSyncs || (tc.policy == FsyncNever && syncs != 0) {
				t.Fatalf("%d fsyncs with fsync=%s", syncs, tc.policy)
			}
			r.restart(false)
			if got := r.drain(true); len(got) != 10 {
				t.Fatalf("read %d records after a clean restart, want 10", len(got))
			}
		})
	}
}

func histogramCount(t *testing.T, r *rig, name string) int {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return int(mf.GetMetric()[0].GetHistogram().GetSampleCount())
		}
	}
	return 0
}

func TestOptionsAreValidated(t *testing.T) {
	for _, o := range []Options{
		{},
		{Dir: "x", MaxBytes: -1},
		{Dir: "x", MaxBytes: 1 << 20, WhenFull: "sometimes"},
		{Dir: "x", MaxBytes: 1 << 20, Fsync: "weekly"},
		{Dir: "x", MaxBytes: 1 << 20, FsyncInterval: -time.Second},
		{Dir: "x", MaxBytes: 1 << 20, MaxAge: -time.Second},
	} {
		if _, err := Open(o, quiet, nil); err == nil {
			t.Errorf("Open(%+v) accepted invalid options", o)
		}
	}
}

func TestOpenRemovesLeftoverTempFiles(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, segmentName(0)+".tmp")
	if err := os.WriteFile(tmp, []byte("half a rewrite"), 0o600); err != nil {
		t.Fatal(err)
	}
	newRig(t, Options{Dir: dir})
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("leftover %s still there: %v", tmp, err)
	}
}

func TestTryNextDoesNotWait(t *testing.T) {
	r := newRig(t, Options{})
	if _, ok, err := r.s.TryNext(); ok || err != nil {
		t.Fatalf("TryNext of an empty spool: %v %v", ok, err)
	}
	r.append("a")
	rec, ok, err := r.s.TryNext()
	if !ok || err != nil || string(rec.Data) != "a" {
		t.Fatalf("TryNext: %q %v %v", rec.Data, ok, err)
	}
}

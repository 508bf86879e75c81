package spool

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"
)

// Append writes records to the spool in order and returns how many were appended. Each is
// written to the operating system before Append returns (and synced, with fsync = "always"),
// so it survives a crash of the process. A record that does not fit in MaxBytes is handled by
// WhenFull: Block waits for room (until ctx ends: ctx.Err() is returned with the count so
// far), DropNewest drops it, DropOldest deletes the oldest segments until it fits. A record
// that could never fit (larger than MaxBytes or MaxRecordBytes) is dropped. Drops are counted
// in the dropped metric and do not count as appended. Other errors are I/O errors of the
// spool's files.
func (s *Spool) Append(ctx context.Context, records ...[]byte) (int, error) {
	start := time.Now()
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.now().UnixNano()
	appended, queued := 0, 0
	s.wbuf = s.wbuf[:0]
	flush := func() error {
		n, err := s.flush(queued, t)
		appended += n
		queued = 0
		return err
	}
	for _, data := range records {
		if s.closed {
			return appended, ErrClosed
		}
		size := recordSize(len(data))
		if len(data) > s.opts.MaxRecordBytes || size+segmentHeaderBytes > s.opts.MaxBytes {
			s.drop(ReasonTooLarge, 1)
			s.log.Warn("spool: record larger than the spool can hold, dropped", "bytes", len(data),
				"max_bytes", s.opts.MaxBytes)
			continue
		}
		fits, err := s.makeRoom(ctx, size, flush)
		if err != nil {
			return appended, err
		}
		if !fits {
			continue
		}
		if act := s.segs[len(s.segs)-1]; act.size+int64(len(s.wbuf))+size > s.opts.SegmentBytes &&
			act.size+int64(len(s.wbuf)) > segmentHeaderBytes {
			if err := flush(); err != nil {
				return appended, err
			}
			if err := s.rotate(); err != nil {
				return appended, err
			}
		}
		s.wbuf = appendRecord(s.wbuf, s.writeSeq+uint64(queued), t, data)
		queued++
	}
	err := flush()
	s.m.appendSeconds.Observe(time.Since(start).Seconds())
	return appended, err
}

// makeRoom makes room for a record of size bytes (besides what wbuf holds) per WhenFull,
// flushing what is queued before it waits or deletes. It reports false when the record is to
// be dropped (DropNewest). mu and appendMu are held.
func (s *Spool) makeRoom(ctx context.Context, size int64, flush func() error) (bool, error) {
	if s.full && s.bytes+int64(len(s.wbuf))+size <= s.opts.MaxBytes/2 {
		s.full = false
		s.log.Info("spool has room again", "bytes", s.bytes, "dropped_while_full", s.droppedIn)
	}
	for s.bytes+int64(len(s.wbuf))+size > s.opts.MaxBytes {
		if s.reclaim() {
			continue
		}
		if !s.full {
			s.full, s.droppedIn = true, 0
			s.log.Warn("spool full", "bytes", s.bytes, "max_bytes", s.opts.MaxBytes, "when_full", string(s.opts.WhenFull))
		}
		switch s.opts.WhenFull {
		case DropNewest:
			s.drop(ReasonDropNewest, 1)
			return false, nil
		case DropOldest:
			if err := flush(); err != nil {
				return false, err
			}
			if len(s.segs) == 1 {
				if err := s.rotate(); err != nil {
					return false, err
				}
			}
			if err := s.dropSegment(ReasonDropOldest); err != nil {
				return false, err
			}
		default:
			if err := flush(); err != nil {
				return false, err
			}
			s.mu.Unlock()
			select {
			case <-s.spaceFreed:
			case <-s.done:
			case <-ctx.Done():
			}
			s.mu.Lock()
			if s.closed {
				return false, ErrClosed
			}
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
	}
	return true, nil
}

// flush writes the n records encoded in wbuf (appended at time t) to the active segment, and
// syncs it with fsync = "always". mu is held; it is released around the write and sync, which
// only Append (holding appendMu) and Close do.
func (s *Spool) flush(n int, t int64) (int, error) {
	if n == 0 {
		return 0, nil
	}
	act, f, buf := s.segs[len(s.segs)-1], s.active, s.wbuf
	s.wbuf = s.wbuf[:0]
	s.mu.Unlock()
	_, err := f.Write(buf)
	if err == nil && s.opts.Fsync == FsyncAlways {
		err = s.fsync(f)
	}
	s.mu.Lock()
	if err != nil {
		// Cut a partial write off, so that the next append starts at a record boundary.
		if terr := f.Truncate(act.size); terr != nil {
			s.log.Error("spool: cannot truncate a failed write; the reader will skip it as corrupt",
				"segment", act.path, "err", terr)
		}
		return 0, fmt.Errorf("spool %s: append: %w", s.opts.Dir, err)
	}
	if act.count == 0 {
		act.first = t
	}
	act.last = t
	act.count += int64(n)
	act.size += int64(len(buf))
	act.next = s.writeSeq + uint64(n)
	s.writeSeq = act.next
	s.bytes += int64(len(buf))
	s.pending += int64(n)
	s.dirty = s.opts.Fsync == FsyncInterval
	s.m.appended.Add(float64(n))
	if s.opts.OnAppended != nil {
		s.opts.OnAppended(n)
	}
	signal(s.dataReady)
	return n, nil
}

// reclaim deletes the sealed segments whose records are all acknowledged and, when the
// active segment's are too, seals it and deletes it. It reports whether it freed anything.
// mu and appendMu are held.
func (s *Spool) reclaim() bool {
	freed := s.deleteAcked()
	if act := s.segs[len(s.segs)-1]; len(s.segs) == 1 && act.count > 0 && act.next <= s.ackCursor {
		if err := s.rotate(); err != nil {
			s.log.Error("spool: cannot start a new segment", "err", err)
			return freed
		}
		return s.deleteAcked() || freed
	}
	return freed
}

// deleteAcked deletes the sealed segments, oldest first, whose records are all acknowledged.
// mu is held.
func (s *Spool) deleteAcked() bool {
	freed := false
	for len(s.segs) > 1 && s.segs[0].next <= s.ackCursor {
		if !s.removeOldest() {
			break
		}
		freed = true
	}
	return freed
}

// removeOldest deletes the oldest (sealed) segment's file; mu is held.
func (s *Spool) removeOldest() bool {
	seg := s.segs[0]
	if err := os.Remove(seg.path); err != nil {
		s.log.Error("spool: cannot delete a segment", "segment", seg.path, "err", err)
		return false
	}
	s.segs[0] = nil
	s.segs = s.segs[1:]
	s.bytes -= seg.size
	return true
}

// dropSegment deletes the oldest sealed segment with its unread records, counting them as
// dropped for reason. Records of it handed out and not yet acknowledged stay in flight. mu is
// held.
func (s *Spool) dropSegment(reason string) error {
	seg := s.segs[0]
	if !s.removeOldest() {
		return fmt.Errorf("spool %s: cannot delete segment %s", s.opts.Dir, seg.path)
	}
	seg.dropped = true
	if unread := seg.count - seg.read; unread > 0 {
		s.drop(reason, unread)
		s.pending -= unread
	}
	if seg.read > 0 && seg.next > s.ackCursor {
		s.orphans = slices.DeleteFunc(s.orphans, func(r droppedRange) bool { return r.to <= s.ackCursor })
		s.orphans = append(s.orphans, droppedRange{from: max(seg.base, s.ackCursor), to: min(seg.next, s.readSeq), reason: reason})
	}
	s.skipTo(seg.next)
	return nil
}

// droppedRange is the seqs [from, to) of a dropped segment that had been handed out: those
// acknowledged later reached their destination, those never acknowledged are lost with it.
type droppedRange struct {
	from, to uint64
	reason   string
}

// dropOrphans counts as dropped the records of dropped segments that were handed out and are
// still unacknowledged: nothing can hand them out again. mu is held; called by Close.
func (s *Spool) dropOrphans() {
	for _, r := range s.orphans {
		var n int64
		for seq := max(r.from, s.ackCursor); seq < r.to; seq++ {
			if !s.window[seq-s.ackCursor].acked {
				n++
			}
		}
		if n > 0 {
			s.drop(r.reason, n)
			s.pending -= n
		}
	}
	s.orphans = nil
}

// drop counts n records dropped for reason; mu is held. The loop logs the drops every
// dropLogEvery.
func (s *Spool) drop(reason string, n int64) {
	s.m.dropped[reason].Add(float64(n))
	s.droppedIn += n
	s.dropped += n
	s.unlogged[reason] += n
}

// logDrops logs the drops counted since the last call, one line per reason; mu is held.
func (s *Spool) logDrops() {
	for reason, n := range s.unlogged {
		if n > 0 {
			s.log.Warn("spool dropped records", "reason", reason, "records_dropped", n)
		}
		delete(s.unlogged, reason)
	}
}

// rotate seals the active segment and starts a new one; mu and appendMu are held.
func (s *Spool) rotate() error {
	old := s.active
	if err := s.startSegment(); err != nil {
		return fmt.Errorf("spool %s: new segment: %w", s.opts.Dir, err)
	}
	if s.opts.Fsync == FsyncInterval {
		s.unsynced = append(s.unsynced, old)
		return nil
	}
	return old.Close()
}

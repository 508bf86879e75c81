package spool

import (
	"os"
	"time"
)

// loop runs until Close: it persists the ack cursor while it moves, deletes acknowledged
// segments, drops segments older than MaxAge, syncs (fsync = "interval") and updates the
// gauges.
func (s *Spool) loop() {
	defer close(s.loopDone)
	tick := cursorEvery
	if s.opts.Fsync == FsyncInterval {
		tick = min(tick, s.opts.FsyncInterval)
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		s.housekeep()
	}
}

// housekeep is one round of loop's work. Rounds are serialised (tests run them too).
func (s *Spool) housekeep() {
	s.hkMu.Lock()
	defer s.hkMu.Unlock()
	s.mu.Lock()
	freed := s.expire()
	cursor, moved := s.ackCursor, s.ackCursor != s.persisted
	s.mu.Unlock()
	// The cursor only bounds what is handed out again after a crash: it is replaced every
	// round while it moves (a crash of the process keeps it), and synced at most once per
	// FsyncInterval, not to stall appends with a sync every round.
	syncCursor := s.sync && time.Since(s.cursorSynced) >= s.opts.FsyncInterval
	if moved {
		if syncCursor {
			s.cursorSynced = time.Now()
		}
		if err := writeCursor(s.opts.Dir, cursor, syncCursor); err != nil {
			s.log.Error("spool: cannot persist the ack cursor", "err", err)
		} else {
			s.mu.Lock()
			s.persisted = cursor
			s.mu.Unlock()
		}
	}
	s.mu.Lock()
	freed = s.deleteAcked() || freed
	if time.Since(s.loggedAt) >= dropLogEvery {
		s.logDrops()
		s.loggedAt = time.Now()
	}
	var sealed []*os.File
	var active *os.File
	if s.opts.Fsync == FsyncInterval && s.now().Sub(s.lastSync) >= s.opts.FsyncInterval {
		sealed, s.unsynced = s.unsynced, nil
		if s.dirty {
			active = s.active
		}
		s.dirty, s.lastSync = false, s.now()
	}
	s.mu.Unlock()
	if freed {
		signal(s.spaceFreed)
	}
	// Only this goroutine and Close (after it) close files handed to unsynced; the active
	// file, if rotated meanwhile, is in the new unsynced list and closed in a later round.
	for _, f := range sealed {
		if err := s.fsync(f); err != nil {
			s.log.Error("spool: fsync failed", "file", f.Name(), "err", err)
		}
		f.Close()
	}
	if active != nil {
		if err := s.fsync(active); err != nil {
			s.log.Error("spool: fsync failed", "file", active.Name(), "err", err)
		}
	}
	s.updateGauges()
}

// expire drops the sealed segments, oldest first, whose newest record is older than MaxAge;
// mu is held.
func (s *Spool) expire() bool {
	if s.opts.MaxAge <= 0 {
		return false
	}
	limit := s.now().UnixNano() - int64(s.opts.MaxAge)
	freed := false
	for len(s.segs) > 1 && s.segs[0].last < limit {
		if s.dropSegment(ReasonMaxAge) != nil {
			break
		}
		freed = true
	}
	return freed
}

// updateGauges sets the size gauges and the age of the oldest unacknowledged record.
func (s *Spool) updateGauges() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m.bytes.Set(float64(s.bytes))
	s.m.records.Set(float64(s.pending))
	var oldest int64
	switch {
	case len(s.window) > 0:
		oldest = s.window[0].time
	case s.readSeq < s.writeSeq:
		oldest = s.lastRead
		for _, seg := range s.segs {
			if seg.next > s.readSeq {
				if seg.read == 0 || oldest == 0 {
					oldest = seg.first
				}
				break
			}
		}
	}
	age := 0.0
	if oldest > 0 {
		age = max(float64(s.now().UnixNano()-oldest)/1e9, 0)
	}
	s.m.oldestAge.Set(age)
}

package spool

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Record is one record handed out by Next.
type Record struct {
	Seq  uint64    // acknowledge it with Ack(Seq)
	Data []byte    // a copy: the caller owns it
	Time time.Time // when it was appended
}

// Stats is a snapshot of a spool's state.
type Stats struct {
	Bytes    int64  // segment files' total size
	Records  int64  // records not yet acknowledged nor dropped
	Segments int    // segment files
	NextSeq  uint64 // the seq the next appended record gets
	Acked    uint64 // every seq below it is acknowledged (or dropped)
	Dropped  int64  // records dropped since Open: by WhenFull, MaxAge, or too large
	Corrupt  int64  // records lost to damage since Open, found at Open or while reading
}

// Spool is a durable FIFO of records in a directory: Append writes records to segment files,
// Next hands them out in order, Ack acknowledges them in any order. The ack cursor (every seq
// below it acknowledged) is persisted every 100 ms while it moves and at Close; a segment whose
// records are all acknowledged is deleted. Open replays every record at or above the
// persisted cursor, so after a crash the records acknowledged since the last persisted cursor
// are handed out again (duplicates, never gaps), as well as those handed out and not acked.
//
// Append may be called concurrently with Next and Ack; Append is serialised, and Next must
// not be called concurrently with itself. Close may be called from any goroutine, once the
// spool is no longer needed; Append and Next then return ErrClosed.
type Spool struct {
	opts Options
	log  *slog.Logger
	m    spoolMetrics
	lock *os.File
	now  func() time.Time
	sync bool // fsync is not "never"

	appendMu sync.Mutex // serialises Append (and rotation)
	wbuf     []byte     // Append's encoding buffer

	mu        sync.Mutex
	segs      []*segment // oldest first; the last one is the active one
	active    *os.File   // the active segment, open for appending
	unsynced  []*os.File // sealed segments still to be synced and closed (fsync = "interval")
	dirty     bool       // bytes appended and not yet synced
	writeSeq  uint64     // the seq of the next appended record
	ackCursor uint64     // every seq below is acknowledged or dropped
	window    []ackState // seqs [ackCursor, readSeq): handed out (or skipped, acked) records
	readSeq   uint64     // the seq after the last record handed out
	pending   int64      // records neither acknowledged nor dropped
	bytes     int64
	lastRead  int64 // append time of the last record handed out
	persisted uint64
	lastSync  time.Time
	hkMu      sync.Mutex // serialises housekeeping rounds
	// cursorSynced is when a housekeeping round last synced the cursor file (under hkMu).
	cursorSynced time.Time
	full         bool // the last append that did not fit had to wait or drop
	droppedIn    int64
	dropped      int64            // records dropped since Open
	corrupt      int64            // records lost to damage since Open
	orphans      []droppedRange   // dropped segments' records handed out and not yet acknowledged
	unlogged     map[string]int64 // drops by reason not yet logged
	loggedAt     time.Time        // when the loop last logged drops
	closed       bool

	// The reader's position: rseg (under mu), rfile and rscan (Next's goroutine only).
	rseg       *segment
	rfile      *os.File
	rscan      scanner
	resyncFrom int64

	dataReady  chan struct{} // 1-buffered: Next may have something to read
	spaceFreed chan struct{} // 1-buffered: Append may find room
	done       chan struct{} // closed by Close
	loopDone   chan struct{}
	closeOnce  sync.Once
	closeErr   error
}

type ackState struct {
	acked bool
	time  int64
}

// Errors.
var (
	// ErrLocked: another process (or another Spool in this one) has the directory open.
	ErrLocked = errors.New("spool directory is in use by another process; two bridges cannot share one spool dir")
	// ErrClosed is returned by Append and Next after Close.
	ErrClosed = errors.New("spool closed")
	// ErrUnknownSeq is returned by Ack for a seq that was never handed out.
	ErrUnknownSeq = errors.New("spool: ack of a record never handed out")
	// ErrAckedTwice is returned by Ack for a record acknowledged before.
	ErrAckedTwice = errors.New("spool: record acknowledged twice")
)

// Open opens (creating it when missing) the spool in opts.Dir, takes its lock, and recovers
// its files: every record is checked; a damaged tail is truncated and damage followed by valid
// records cut out, each with a warning and counted in the corrupt metrics. metrics may be nil.
func Open(opts Options, logger *slog.Logger, metrics *Metrics) (*Spool, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if metrics == nil {
		metrics = NewMetrics(nil)
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool %s: %w", opts.Dir, err)
	}
	lock, err := lockDir(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("spool %s: %w", opts.Dir, err)
	}
	s := &Spool{
		opts: opts, log: logger.With("component", "spool", "dir", opts.Dir), m: metrics.forSpool(opts.Name),
		lock: lock, now: time.Now, sync: opts.Fsync != FsyncNever, unlogged: map[string]int64{},
		dataReady: make(chan struct{}, 1), spaceFreed: make(chan struct{}, 1),
		done: make(chan struct{}), loopDone: make(chan struct{}),
	}
	if err := s.recover(); err != nil {
		s.closeFiles()
		return nil, fmt.Errorf("spool %s: %w", opts.Dir, err)
	}
	s.m.maxBytes.Set(float64(opts.MaxBytes))
	s.updateGauges()
	s.lastSync = s.now()
	go s.loop()
	return s, nil
}

// recover builds the in-memory state from the directory's files and starts a new active
// segment.
func (s *Spool) recover() error {
	cursor, err := readCursor(s.opts.Dir)
	if errors.Is(err, errCursorCorrupt) {
		s.log.Warn("spool ack cursor file is corrupt; replaying every record in the spool (duplicates)")
	} else if err != nil {
		return err
	}
	found, err := listSegments(s.opts.Dir)
	if err != nil {
		return err
	}
	s.writeSeq = cursor
	for i, seg := range found {
		s.writeSeq = max(s.writeSeq, seg.base)
		var limit uint64
		if i+1 < len(found) {
			limit = found[i+1].base
		}
		if i+1 < len(found) && limit <= cursor {
			if err := os.Remove(seg.path); err != nil {
				return err
			}
			continue
		}
		dmg, err := recoverSegment(seg, limit, cursor, s.opts.MaxRecordBytes, s.sync)
		if err != nil {
			return err
		}
		if dmg != nil {
			s.m.corrupt.Add(float64(dmg.records))
			s.corrupt += dmg.records
			s.m.corruptBytes.Add(float64(dmg.bytes))
			s.log.Warn("spool segment damaged: cut out the damaged bytes, kept every valid record",
				"segment", filepath.Base(seg.path), "offset", dmg.at, "bytes", dmg.bytes, "records_lost", dmg.records)
		}
		s.writeSeq = max(s.writeSeq, seg.next)
		if seg.count == 0 || seg.next <= cursor {
			if err := os.Remove(seg.path); err != nil {
				return err
			}
			continue
		}
		s.segs = append(s.segs, seg)
		s.bytes += seg.size
		s.pending += seg.count - seg.read
	}
	s.ackCursor = cursor
	if len(s.segs) > 0 {
		s.ackCursor = max(cursor, s.segs[0].base)
	}
	s.readSeq, s.persisted = s.ackCursor, cursor
	if err := s.startSegment(); err != nil {
		return err
	}
	if s.pending > 0 {
		s.log.Info("spool opened with records to replay", "records", s.pending, "bytes", s.bytes,
			"from_seq", s.ackCursor)
	}
	return nil
}

// startSegment creates a new active segment starting at writeSeq; mu (or exclusive access)
// is held. The previous active file, if any, is the caller's to hand on.
func (s *Spool) startSegment() error {
	seg := &segment{base: s.writeSeq, next: s.writeSeq, size: segmentHeaderBytes,
		path: filepath.Join(s.opts.Dir, segmentName(s.writeSeq))}
	f, err := os.OpenFile(seg.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(segmentHeader(seg.base)); err != nil {
		f.Close()
		os.Remove(seg.path)
		return err
	}
	if s.sync {
		if err := syncDir(s.opts.Dir); err != nil {
			f.Close()
			return err
		}
	}
	s.segs = append(s.segs, seg)
	s.active = f
	s.bytes += seg.size
	return nil
}

// Stats returns a snapshot of the spool's state.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Bytes: s.bytes, Records: s.pending, Segments: len(s.segs), NextSeq: s.writeSeq, Acked: s.ackCursor,
		Dropped: s.dropped, Corrupt: s.corrupt}
}

// Close syncs (unless fsync is "never") and closes the files, persists the ack cursor and
// releases the directory's lock. Blocked Append and Next calls return ErrClosed. Records still
// unacknowledged whose segment was dropped while they were handed out are lost with it: Close
// counts them as dropped. It is idempotent.
func (s *Spool) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		defer s.appendMu.Unlock()
		s.mu.Lock()
		defer s.mu.Unlock()
		var errs []error
		if s.sync {
			for _, f := range append(s.unsynced, s.active) {
				errs = append(errs, s.fsync(f))
			}
		}
		if s.ackCursor != s.persisted {
			errs = append(errs, writeCursor(s.opts.Dir, s.ackCursor, s.sync))
		}
		s.dropOrphans()
		s.logDrops()
		errs = append(errs, s.closeFiles())
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("spool %s: close: %w", s.opts.Dir, err)
		}
	})
	return s.closeErr
}

// stop marks the spool closed, waking blocked calls, waits for the loop to end and for an
// Append under way, and returns holding appendMu.
func (s *Spool) stop() {
	s.mu.Lock()
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	<-s.loopDone
	s.appendMu.Lock()
}

// closeFiles closes every open file and releases the lock.
func (s *Spool) closeFiles() error {
	var errs []error
	for _, f := range append(s.unsynced, s.active, s.rfile) {
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	s.unsynced, s.active, s.rfile = nil, nil, nil
	errs = append(errs, s.lock.Close())
	return errors.Join(errs...)
}

// fsync syncs f and observes its latency.
func (s *Spool) fsync(f *os.File) error {
	start := time.Now()
	err := f.Sync()
	s.m.fsyncSeconds.Observe(time.Since(start).Seconds())
	return err
}

// signal wakes the goroutine waiting on ch, if any.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

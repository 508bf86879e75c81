package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Next returns the next record in append order, blocking until one is appended, ctx ends
// (ctx.Err()) or the spool is closed (ErrClosed). Records older than MaxAge are skipped and
// counted as dropped. A record found damaged while reading (the files changed under the
// spool) is skipped and counted as corrupt, with a warning. Next must not be called
// concurrently with itself.
func (s *Spool) Next(ctx context.Context) (Record, error) {
	rec, _, err := s.next(ctx, true)
	return rec, err
}

// TryNext is Next without waiting: ok is false when no record is there to hand out now.
func (s *Spool) TryNext() (rec Record, ok bool, err error) {
	return s.next(context.Background(), false)
}

func (s *Spool) next(ctx context.Context, wait bool) (Record, bool, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return Record{}, false, ErrClosed
		}
		seg, err := s.readerSegment()
		if err != nil {
			s.mu.Unlock()
			return Record{}, false, err
		}
		limit, active := seg.size, seg == s.segs[len(s.segs)-1]
		if s.rscan.off >= limit || (s.resyncFrom > 0 && s.resyncFrom+recordHeaderBytes > limit) {
			s.mu.Unlock()
			if !wait {
				return Record{}, false, nil
			}
			select {
			case <-s.dataReady:
			case <-s.done:
			case <-ctx.Done():
				return Record{}, false, ctx.Err()
			}
			continue
		}
		s.mu.Unlock()
		rec, n, rerr := s.rscan.next(limit)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return Record{}, false, ErrClosed
		}
		if seg.dropped {
			s.mu.Unlock()
			continue
		}
		if rerr != nil && !errors.Is(rerr, errCorrupt) && !errors.Is(rerr, errIncomplete) {
			s.mu.Unlock()
			return Record{}, false, fmt.Errorf("spool %s: read: %w", s.opts.Dir, rerr)
		}
		if rerr == nil && (rec.seq < seg.base || rec.seq >= seg.next) {
			rerr = errCorrupt
		}
		if rerr != nil {
			err := s.readDamaged(seg, limit, active, rerr)
			s.mu.Unlock()
			if err != nil {
				return Record{}, false, err
			}
			continue
		}
		s.rscan.off += int64(n)
		if rec.seq < s.readSeq {
			s.mu.Unlock() // acknowledged before this Open
			continue
		}
		seg.read++
		if s.opts.MaxAge > 0 && s.now().UnixNano()-rec.time > int64(s.opts.MaxAge) {
			s.drop(ReasonMaxAge, 1)
			s.pending--
			s.skipTo(rec.seq + 1)
			s.mu.Unlock()
			continue
		}
		s.skipTo(rec.seq)
		s.window = append(s.window, ackState{time: rec.time})
		s.readSeq = rec.seq + 1
		s.lastRead = rec.time
		out := Record{Seq: rec.seq, Data: append([]byte(nil), rec.data...), Time: time.Unix(0, rec.time)}
		s.mu.Unlock()
		return out, true, nil
	}
}

// readerSegment returns the segment the reader is in, moving it to the next segment when the
// current one is read to its end and sealed, or was dropped. mu is held.
func (s *Spool) readerSegment() (*segment, error) {
	cur := s.rseg
	if cur != nil && !cur.dropped && (s.rscan.off < cur.size || cur == s.segs[len(s.segs)-1]) {
		return cur, nil
	}
	next := s.segs[0]
	if cur != nil {
		for _, seg := range s.segs {
			if seg.base > cur.base {
				next = seg
				break
			}
		}
		if next.base <= cur.base { // cur is the last one and was dropped: cannot happen
			return cur, nil
		}
	}
	f, err := os.Open(next.path)
	if err != nil {
		return nil, err
	}
	if s.rfile != nil {
		s.rfile.Close()
	}
	s.rseg, s.rfile, s.resyncFrom = next, f, 0
	s.rscan = scanner{r: f, maxData: s.opts.MaxRecordBytes, off: segmentHeaderBytes, buf: s.rscan.buf[:0]}
	return next, nil
}

// readDamaged handles a record that failed its checks while the spool was open: it looks for
// the next valid record in the segment and counts the records in between as corrupt. In a
// sealed segment without one, the rest of the segment is lost; in the active one, the search
// goes on as records are appended. mu is held.
func (s *Spool) readDamaged(seg *segment, limit int64, active bool, cause error) error {
	from := s.rscan.off + 1
	if s.resyncFrom > 0 {
		from = s.resyncFrom
	} else {
		s.log.Warn("spool record damaged while reading; skipping to the next valid record",
			"segment", filepath.Base(seg.path), "offset", s.rscan.off, "err", cause)
	}
	minSeq := max(s.readSeq, seg.base)
	at, found, err := s.rscan.resync(from, limit, minSeq, seg.next-1)
	if err != nil {
		return err
	}
	if found {
		_, seq := peekHeader(s.rscan.buf[at-s.rscan.bufOff:])
		s.m.corruptBytes.Add(float64(at - s.rscan.off))
		s.countCorrupt(seg, int64(seq-minSeq))
		s.rscan.off, s.resyncFrom = at, 0
		return nil
	}
	if active {
		s.resyncFrom = at
		return nil
	}
	s.m.corruptBytes.Add(float64(limit - s.rscan.off))
	s.countCorrupt(seg, seg.count-seg.read)
	s.skipTo(seg.next)
	s.rscan.off, s.resyncFrom = limit, 0
	return nil
}

// countCorrupt counts n unread records of seg as lost to corruption; mu is held.
func (s *Spool) countCorrupt(seg *segment, n int64) {
	n = min(n, seg.count-seg.read)
	if n <= 0 {
		return
	}
	seg.read += n
	s.pending -= n
	s.corrupt += n
	s.m.corrupt.Add(float64(n))
}

// skipTo marks every seq from readSeq up to seq as acknowledged (records dropped, lost, or
// absent) and moves readSeq there; mu is held.
func (s *Spool) skipTo(seq uint64) {
	if seq <= s.readSeq {
		return
	}
	if len(s.window) == 0 {
		s.readSeq, s.ackCursor = seq, seq
		return
	}
	for ; s.readSeq < seq; s.readSeq++ {
		s.window = append(s.window, ackState{acked: true})
	}
	s.advance()
}

// Ack acknowledges the record seq: it is durable at its destination and need not be handed
// out again. Acks may come in any order; the cursor advances over the acknowledged prefix.
// An ack of a record whose segment was dropped meanwhile is accepted. It returns
// ErrUnknownSeq for a record never handed out and ErrAckedTwice for a second ack.
func (s *Spool) Ack(seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq < s.ackCursor {
		return nil
	}
	if seq >= s.readSeq {
		return ErrUnknownSeq
	}
	st := &s.window[seq-s.ackCursor]
	if st.acked {
		return ErrAckedTwice
	}
	st.acked = true
	s.pending--
	if seq == s.ackCursor {
		s.advance()
		if len(s.segs) > 1 && s.segs[0].next <= s.ackCursor {
			signal(s.spaceFreed)
		}
	}
	return nil
}

// advance moves ackCursor over the acknowledged prefix of the window; mu is held.
func (s *Spool) advance() {
	i := 0
	for i < len(s.window) && s.window[i].acked {
		i++
	}
	if i == 0 {
		return
	}
	s.ackCursor += uint64(i)
	if i == len(s.window) {
		s.window = s.window[:0]
		return
	}
	s.window = s.window[i:]
}

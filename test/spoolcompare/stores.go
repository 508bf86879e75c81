package main

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tidwall/wal"
	bolt "go.etcd.io/bbolt"

	"github.com/seabridge/seabridge/internal/spool"
)

// store is one candidate behind the spool's interface: append in order, read in order, ack
// in order (the benchmark acks in order; the spool also takes them out of order).
type store interface {
	// Append writes records durably per the store's fsync policy.
	Append(recs [][]byte) error
	// Next returns the next record, waiting up to wait for one; ok false when none came.
	Next(wait time.Duration) (data []byte, seq uint64, ok bool, err error)
	// Ack acknowledges every record up to and including seq; the store deletes them in the
	// background (every 100 ms, like the spool).
	Ack(seq uint64)
	Close() error
}

type fsyncPolicy string

const (
	always   fsyncPolicy = "always"
	interval fsyncPolicy = "interval"
	never    fsyncPolicy = "never"
)

const syncInterval = time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// background runs f every d until stop is closed.
func background(stop chan struct{}, wg *sync.WaitGroup, d time.Duration, f func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				f()
			}
		}
	}()
}

// --- seabridge's own segment format (internal/spool) ---

type ownSpool struct {
	s *spool.Spool
	// ctx bounds Next's waits; reused until it expires, so that a read costs no timer.
	ctx    context.Context
	cancel context.CancelFunc
}

func openOwn(dir string, p fsyncPolicy) (store, error) {
	s, err := spool.Open(spool.Options{Dir: dir, MaxBytes: 8 << 30, Fsync: spool.Fsync(p), FsyncInterval: syncInterval}, quiet, nil)
	return &ownSpool{s: s, ctx: context.Background(), cancel: func() {}}, err
}

func (o *ownSpool) Append(recs [][]byte) error {
	_, err := o.s.Append(context.Background(), recs...)
	return err
}

func (o *ownSpool) Next(wait time.Duration) ([]byte, uint64, bool, error) {
	if _, ok := o.ctx.Deadline(); !ok || o.ctx.Err() != nil {
		o.cancel()
		o.ctx, o.cancel = context.WithTimeout(context.Background(), wait)
	}
	rec, err := o.s.Next(o.ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, 0, false, nil
	}
	return rec.Data, rec.Seq, err == nil, err
}

func (o *ownSpool) Ack(seq uint64) { _ = o.s.Ack(seq) }
func (o *ownSpool) Close() error   { return o.s.Close() }

// --- tidwall/wal ---

type tidwall struct {
	mu      sync.Mutex
	l       *wal.Log
	next    uint64 // index of the next record to write
	read    uint64 // index of the next record to read
	acked   uint64 // every index up to it is acked
	stop    chan struct{}
	wg      sync.WaitGroup
	lastErr error
}

func openTidwall(dir string, p fsyncPolicy) (store, error) {
	l, err := wal.Open(dir, &wal.Options{NoSync: p != always, SegmentSize: 20 << 20, AllowEmpty: true,
		SegmentCacheSize: 2, DirPerms: 0o700, FilePerms: 0o600})
	if err != nil {
		return nil, err
	}
	first, _ := l.FirstIndex()
	last, _ := l.LastIndex()
	t := &tidwall{l: l, next: last + 1, read: max(first, 1), stop: make(chan struct{})}
	if last == 0 {
		t.next, t.read = 1, 1
	}
	background(t.stop, &t.wg, 100*time.Millisecond, func() {
		t.mu.Lock()
		a := t.acked
		t.mu.Unlock()
		if f, _ := l.FirstIndex(); a >= f && a > 0 {
			_ = l.TruncateFront(a + 1)
		}
	})
	if p == interval {
		background(t.stop, &t.wg, syncInterval, func() { _ = l.Sync() })
	}
	return t, nil
}

func (t *tidwall) Append(recs [][]byte) error {
	var b wal.Batch
	t.mu.Lock()
	idx := t.next
	t.mu.Unlock()
	for i, r := range recs {
		b.Write(idx+uint64(i), r)
	}
	if err := t.l.WriteBatch(&b); err != nil {
		return err
	}
	t.mu.Lock()
	t.next += uint64(len(recs))
	t.mu.Unlock()
	return nil
}

func (t *tidwall) Next(wait time.Duration) ([]byte, uint64, bool, error) {
	deadline := time.Now().Add(wait)
	for {
		t.mu.Lock()
		idx, avail := t.read, t.read < t.next
		t.mu.Unlock()
		if avail {
			d, err := t.l.Read(idx)
			if err != nil {
				return nil, 0, false, err
			}
			t.mu.Lock()
			t.read++
			t.mu.Unlock()
			return d, idx, true, nil
		}
		if time.Now().After(deadline) {
			return nil, 0, false, nil
		}
		time.Sleep(50 * time.Microsecond)
	}
}

func (t *tidwall) Ack(seq uint64) {
	t.mu.Lock()
	t.acked = seq
	t.mu.Unlock()
}

func (t *tidwall) Close() error {
	close(t.stop)
	t.wg.Wait()
	return t.l.Close()
}

// --- go.etcd.io/bbolt ---

var bucket = []byte("spool")

// kv is one record read ahead.
type kv struct {
	seq uint64
	v   []byte
}

type bbolt struct {
	db                *bolt.DB
	buf               []kv // read ahead, for the consumer only
	mu                sync.Mutex
	next, read, acked uint64
	stop              chan struct{}
	wg                sync.WaitGroup
}

func key(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

func openBbolt(dir string, p fsyncPolicy) (store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	db, err := bolt.Open(dir+"/spool.db", 0o600, &bolt.Options{NoSync: p != always, Timeout: time.Second,
		NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, err
	}
	b := &bbolt{db: db, next: 1, read: 1, stop: make(chan struct{})}
	err = db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		c := bk.Cursor()
		if k, _ := c.First(); k != nil {
			b.read = binary.BigEndian.Uint64(k)
		}
		if k, _ := c.Last(); k != nil {
			b.next = binary.BigEndian.Uint64(k) + 1
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	b.acked = b.read - 1
	background(b.stop, &b.wg, 100*time.Millisecond, func() {
		b.mu.Lock()
		a := b.acked
		b.mu.Unlock()
		_ = db.Update(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucket).Cursor()
			for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= a; k, _ = c.Next() {
				if err := c.Delete(); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if p == interval {
		background(b.stop, &b.wg, syncInterval, func() { _ = db.Sync() })
	}
	return b, nil
}

func (b *bbolt) Append(recs [][]byte) error {
	b.mu.Lock()
	idx := b.next
	b.mu.Unlock()
	err := b.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucket)
		for i, r := range recs {
			if err := bk.Put(key(idx+uint64(i)), r); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		b.mu.Lock()
		b.next += uint64(len(recs))
		b.mu.Unlock()
	}
	return err
}

func (b *bbolt) Next(wait time.Duration) ([]byte, uint64, bool, error) {
	deadline := time.Now().Add(wait)
	for len(b.buf) == 0 {
		b.mu.Lock()
		from, to := b.read, b.next
		b.mu.Unlock()
		if from < to {
			err := b.db.View(func(tx *bolt.Tx) error { // up to 1000 records a transaction
				c := tx.Bucket(bucket).Cursor()
				for k, v := c.Seek(key(from)); k != nil && len(b.buf) < 1000; k, v = c.Next() {
					if seq := binary.BigEndian.Uint64(k); seq < to {
						b.buf = append(b.buf, kv{seq, append([]byte(nil), v...)})
						continue
					}
					break
				}
				return nil
			})
			if err != nil {
				return nil, 0, false, err
			}
			continue
		}
		if time.Now().After(deadline) {
			return nil, 0, false, nil
		}
		time.Sleep(50 * time.Microsecond)
	}
	r := b.buf[0]
	b.buf = b.buf[1:]
	b.mu.Lock()
	b.read = r.seq + 1
	b.mu.Unlock()
	return r.v, r.seq, true, nil
}

func (b *bbolt) Ack(seq uint64) {
	b.mu.Lock()
	b.acked = seq
	b.mu.Unlock()
}

func (b *bbolt) Close() error {
	close(b.stop)
	b.wg.Wait()
	return b.db.Close()
}

// --- cockroachdb/pebble ---

type pebbleStore struct {
	db                *pebble.DB
	buf               []kv // read ahead, for the consumer only
	wo                *pebble.WriteOptions
	mu                sync.Mutex
	next, read, acked uint64
	stop              chan struct{}
	wg                sync.WaitGroup
}

func openPebble(dir string, p fsyncPolicy) (store, error) {
	db, err := pebble.Open(dir, &pebble.Options{Logger: nopLogger{}})
	if err != nil {
		return nil, err
	}
	wo := pebble.NoSync
	if p == always {
		wo = pebble.Sync
	}
	s := &pebbleStore{db: db, wo: wo, next: 1, read: 1, stop: make(chan struct{})}
	it, err := db.NewIter(nil)
	if err != nil {
		db.Close()
		return nil, err
	}
	if it.First() {
		s.read = binary.BigEndian.Uint64(it.Key())
	}
	if it.Last() {
		s.next = binary.BigEndian.Uint64(it.Key()) + 1
	}
	it.Close()
	s.acked = s.read - 1
	background(s.stop, &s.wg, 100*time.Millisecond, func() {
		s.mu.Lock()
		a := s.acked
		s.mu.Unlock()
		_ = db.DeleteRange(key(0), key(a+1), pebble.NoSync)
	})
	if p == interval {
		background(s.stop, &s.wg, syncInterval, func() { _ = db.LogData(nil, pebble.Sync) })
	}
	return s, nil
}

func (s *pebbleStore) Append(recs [][]byte) error {
	s.mu.Lock()
	idx := s.next
	s.mu.Unlock()
	b := s.db.NewBatch()
	for i, r := range recs {
		if err := b.Set(key(idx+uint64(i)), r, nil); err != nil {
			return err
		}
	}
	if err := b.Commit(s.wo); err != nil {
		return err
	}
	s.mu.Lock()
	s.next += uint64(len(recs))
	s.mu.Unlock()
	return b.Close()
}

func (s *pebbleStore) Next(wait time.Duration) ([]byte, uint64, bool, error) {
	deadline := time.Now().Add(wait)
	for len(s.buf) == 0 {
		s.mu.Lock()
		from, to := s.read, s.next
		s.mu.Unlock()
		if from < to {
			it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: key(from), UpperBound: key(to)})
			if err != nil {
				return nil, 0, false, err
			}
			for ok := it.First(); ok && len(s.buf) < 1000; ok = it.Next() {
				s.buf = append(s.buf, kv{binary.BigEndian.Uint64(it.Key()), append([]byte(nil), it.Value()...)})
			}
			if err := it.Close(); err != nil {
				return nil, 0, false, err
			}
			continue
		}
		if time.Now().After(deadline) {
			return nil, 0, false, nil
		}
		time.Sleep(50 * time.Microsecond)
	}
	r := s.buf[0]
	s.buf = s.buf[1:]
	s.mu.Lock()
	s.read = r.seq + 1
	s.mu.Unlock()
	return r.v, r.seq, true, nil
}

func (s *pebbleStore) Ack(seq uint64) {
	s.mu.Lock()
	s.acked = seq
	s.mu.Unlock()
}

func (s *pebbleStore) Close() error {
	close(s.stop)
	s.wg.Wait()
	return s.db.Close()
}

type nopLogger struct{}

func (nopLogger) Infof(string, ...any)  {}
func (nopLogger) Errorf(string, ...any) {}
func (nopLogger) Fatalf(string, ...any) {}

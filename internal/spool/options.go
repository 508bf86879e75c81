package spool

import (
	"errors"
	"fmt"
	"time"
)

// WhenFull says what Append does with a record that does not fit in MaxBytes.
type WhenFull string

// The WhenFull policies.
const (
	// Block waits until acknowledgements free room (the caller stops receiving: backpressure).
	Block WhenFull = "block"
	// DropOldest deletes the oldest segment, counting its unread records as dropped.
	DropOldest WhenFull = "drop_oldest"
	// DropNewest refuses the new record and counts it as dropped.
	DropNewest WhenFull = "drop_newest"
)

// Fsync says when appended records are forced to disk. Every append is written to the
// operating system before Append returns, so it survives a crash of the process whatever the
// policy; the policy decides what survives a crash of the machine.
type Fsync string

// The Fsync policies.
const (
	// FsyncAlways syncs before Append returns: nothing appended is lost with the machine.
	FsyncAlways Fsync = "always"
	// FsyncInterval syncs every FsyncInterval: a machine crash loses at most that much.
	FsyncInterval Fsync = "interval"
	// FsyncNever leaves it to the operating system.
	FsyncNever Fsync = "never"
)

// Defaults.
const (
	DefaultFsyncInterval = time.Second
	// DefaultMaxRecordBytes bounds one record's data when Options.MaxRecordBytes is 0.
	DefaultMaxRecordBytes = 64 << 20
	maxSegmentBytes       = 64 << 20
	minSegmentBytes       = 64 << 10
	// cursorEvery is how often a moved ack cursor is written, and the janitor runs.
	cursorEvery = 100 * time.Millisecond
	// dropLogEvery is how often dropped records are logged (with their count), at most.
	dropLogEvery = 5 * time.Second
)

// Options configures a Spool.
type Options struct {
	// Dir holds the spool's files; it is created when missing. One process at a time.
	Dir string
	// MaxBytes bounds the segment files' total size (headers and not yet deleted acked
	// records included); WhenFull decides what happens beyond it.
	MaxBytes int64
	// MaxAge, when positive, drops records older than this (counted as dropped).
	MaxAge   time.Duration
	WhenFull WhenFull
	Fsync    Fsync
	// FsyncInterval is the period of FsyncInterval syncs; default DefaultFsyncInterval.
	FsyncInterval time.Duration
	// SegmentBytes is the size at which a segment is sealed and a new one started; default
	// MaxBytes/8 within 64 KiB..64 MiB. drop_oldest frees a segment at a time.
	SegmentBytes int64
	// MaxRecordBytes bounds one record's data; default DefaultMaxRecordBytes. Larger
	// records are refused (ErrTooLarge); at open, a length above it marks corruption.
	MaxRecordBytes int
	// Name labels the metrics (the pipeline's name).
	Name string
	// OnAppended, when set, is called with the number of records each write appended, once
	// they are written (as appended_records_total counts them), under the spool's lock: it
	// must not block nor call the spool.
	OnAppended func(n int)
}

// withDefaults validates o and fills in its defaults.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	if o.Dir == "" {
		errs = append(errs, errors.New("dir is empty"))
	}
	if o.MaxBytes <= 0 {
		errs = append(errs, fmt.Errorf("max_bytes must be positive, got %d", o.MaxBytes))
	}
	if o.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("max_age must not be negative, got %s", o.MaxAge))
	}
	switch o.WhenFull {
	case Block, DropOldest, DropNewest:
	case "":
		o.WhenFull = Block
	default:
		errs = append(errs, fmt.Errorf("when_full %q is not one of block, drop_oldest, drop_newest", o.WhenFull))
	}
	switch o.Fsync {
	case FsyncAlways, FsyncInterval, FsyncNever:
	case "":
		o.Fsync = FsyncInterval
	default:
		errs = append(errs, fmt.Errorf("fsync %q is not one of always, interval, never", o.Fsync))
	}
	if o.FsyncInterval < 0 {
		errs = append(errs, fmt.Errorf("fsync_interval must not be negative, got %s", o.FsyncInterval))
	} else if o.FsyncInterval == 0 {
		o.FsyncInterval = DefaultFsyncInterval
	}
	if o.SegmentBytes == 0 {
		o.SegmentBytes = min(max(o.MaxBytes/8, minSegmentBytes), maxSegmentBytes)
	}
	if o.SegmentBytes <= segmentHeaderBytes {
		errs = append(errs, fmt.Errorf("segment size must exceed %d bytes, got %d", segmentHeaderBytes, o.SegmentBytes))
	}
	if o.MaxRecordBytes == 0 {
		o.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if o.MaxRecordBytes < 0 {
		errs = append(errs, fmt.Errorf("max record size must be positive, got %d", o.MaxRecordBytes))
	}
	return o, errors.Join(errs...)
}

// Package spool is a durable local FIFO of records on disk: what a stream-sea source receives
// is appended here before it counts as received, and read back in order by the pipeline, so
// that a Kafka outage or a crash of the bridge loses nothing that was received.
//
// # Files
//
// A spool directory holds segment files (%020d.seg, named after the seq of their first
// record), a cursor file (the persisted ack cursor) and a lock file. A segment is a 16-byte
// header (magic "SBSPOOL1", base seq) and records back to back; each record carries its length,
// a CRC-32C, its seq and its append time (see record.go). New records go to the last segment,
// the active one; at SegmentBytes it is sealed and a new one started. Sealed segments never
// change, except that recovery may cut damage out of them.
//
// # Lifecycle
//
// Open takes the directory's lock (flock: a second process, or a second Open, gets ErrLocked;
// the lock dies with the process, so a crash leaves nothing to clean up), then recovers: every
// segment at or above the persisted cursor is read and every record checked. A damaged or
// torn tail is truncated; damage followed by valid records is cut out by rewriting the
// segment with the valid records only. Each cut is logged and counted (corrupt_records_total,
// corrupt_bytes_total); no valid record is ever skipped. Every record at or above the cursor
// is then handed out again, in order, before new ones.
//
// Append writes records to the active segment with one write per call; Next hands them out
// in order; Ack acknowledges them in any order, and the cursor advances over the acknowledged
// prefix. A loop persists the cursor every 100 ms while it moves (replacing the cursor file
// atomically; synced at most once per FsyncInterval, unless fsync is "never"), deletes segments whose records are all acknowledged, drops segments older than
// MaxAge, and, with fsync = "interval", syncs what was appended. Close syncs, persists the
// cursor and releases the lock.
//
// # Guarantees
//
// A record Append returned for survives a crash of the process (it was written to the
// operating system); with fsync = "always" also a crash of the machine, with "interval" all
// but the last FsyncInterval. After a crash, the records acknowledged since the last
// persisted cursor and those handed out and not yet acknowledged are handed out again:
// duplicates are bounded by that window, and there are no gaps. Records are lost only by
// WhenFull's drop policies, MaxAge, a record too large to spool, or damage to the files, each
// counted. Nothing survives the loss of the disk.
package spool

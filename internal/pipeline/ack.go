package pipeline

import (
	"context"
	"sync/atomic"
)

// ackRecord guards the single ack or nack of one source message whose mapped outputs may be
// spread over several batches. It is settled at most once: acked when the last of its
// outputs is done, nacked by the first failure.
type ackRecord struct {
	ack       AckFunc
	remaining atomic.Int32 // outputs not yet done
	settled   atomic.Bool
}

// ackRecordChunk is how many ackRecords an ackRecords allocates at once.
const ackRecordChunk = 256

// ackRecords hands out ackRecords allocated a chunk at a time, so that the reader pays one
// allocation per chunk instead of one per message; a chunk is freed once none of its records
// is referenced. Not safe for concurrent use: the reader owns it.
type ackRecords struct {
	free []ackRecord
}

func (rs *ackRecords) next(ack AckFunc, outputs int) *ackRecord {
	if len(rs.free) == 0 {
		rs.free = make([]ackRecord, ackRecordChunk)
	}
	r := &rs.free[0]
	rs.free = rs.free[1:]
	r.ack = ack
	r.remaining.Store(int32(outputs))
	return r
}

// done marks one output as durable (or dead-lettered, or dropped). settled reports whether
// this call acked the source message; ackErr is the AckFunc's own error.
func (r *ackRecord) done(ctx context.Context) (settled bool, ackErr error) {
	if r.remaining.Add(-1) != 0 || !r.settled.CompareAndSwap(false, true) {
		return false, nil
	}
	return true, r.ack(ctx, nil)
}

// fail nacks the source message with cause unless it is already settled.
func (r *ackRecord) fail(ctx context.Context, cause error) (settled bool, ackErr error) {
	if !r.settled.CompareAndSwap(false, true) {
		return false, nil
	}
	return true, r.ack(ctx, cause)
}

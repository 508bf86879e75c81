package pipelinetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/pipeline"
)

func TestMemLogBookkeeping(t *testing.T) {
	nack := errors.New("nack")
	cases := []struct {
		name          string
		settle        []error // per offset 0..4; nil acks; errSkip leaves unsettled
		wantCommitted int64
		wantAcked     int
		wantNacks     int
		wantUnsettled int
	}{
		{"all acked", []error{nil, nil, nil, nil, nil}, 5, 5, 0, 0},
		{"gap stops the commit", []error{nil, errSkip, nil, nil, nil}, 1, 4, 0, 1},
		{"nack stops the commit", []error{nil, nil, nack, nil, nil}, 2, 4, 1, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			log := NewMemLog("t")
			log.Append(make([][]byte, len(c.settle))...)
			src := NewMemSource(log)
			if err := src.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			acks := make([]pipeline.AckFunc, len(c.settle))
			for i := range acks {
				_, ack, err := src.Read(ctx)
				if err != nil {
					t.Fatal(err)
				}
				acks[i] = ack
			}
			for i := len(acks) - 1; i >= 0; i-- { // out of order
				if c.settle[i] == errSkip {
					continue
				}
				if err := acks[i](ctx, c.settle[i]); err != nil {
					t.Fatalf("ack %d: %v", i, err)
				}
			}
			if got := log.Committed(); got != c.wantCommitted {
				t.Errorf("Committed = %d, want %d", got, c.wantCommitted)
			}
			if got := log.Acked(); got != c.wantAcked {
				t.Errorf("Acked = %d, want %d", got, c.wantAcked)
			}
			if got := log.Nacks(); got != c.wantNacks {
				t.Errorf("Nacks = %d, want %d", got, c.wantNacks)
			}
			if got := log.Unsettled(); got != c.wantUnsettled {
				t.Errorf("Unsettled = %d, want %d", got, c.wantUnsettled)
			}
			if err := acks[0](ctx, nil); !errors.Is(err, ErrDoubleAck) || log.DoubleAcks() != 1 {
				t.Errorf("second ack: err %v, DoubleAcks %d; want ErrDoubleAck, 1", err, log.DoubleAcks())
			}
		})
	}
}

var errSkip = errors.New("leave unsettled")

func TestMemSourceFaults(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	log := NewMemLog("t")
	log.Append([]byte("a"), []byte("b"))
	src := NewMemSource(log)
	boom := errors.New("boom")
	src.FailConnects(boom)
	if err := src.Connect(ctx); !errors.Is(err, boom) {
		t.Fatalf("first Connect = %v, want the injected error", err)
	}
	if err := src.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	src.FailReads(1, pipeline.ErrNotConnected)
	if _, _, err := src.Read(ctx); !errors.Is(err, pipeline.ErrNotConnected) {
		t.Fatalf("Read = %v, want ErrNotConnected", err)
	}
	if _, _, err := src.Read(ctx); !errors.Is(err, pipeline.ErrNotConnected) {
		t.Fatalf("Read before reconnecting = %v, want ErrNotConnected", err)
	}
	if err := src.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	msg, _, err := src.Read(ctx)
	if err != nil || string(msg.Value) != "a" {
		t.Fatalf("Read after reconnect = %v, %v; want the first message", msg, err)
	}
	if got := src.Connects(); got != 2 {
		t.Errorf("Connects = %d, want 2", got)
	}
}

func TestMemSinkFaults(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sink := NewMemSink()
	if err := sink.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	batch := []*pipeline.Message{{Value: []byte("ok")}, {Value: []byte("bad")}}
	sink.FailWrites(pipeline.ErrNotConnected)
	if err := sink.Write(ctx, batch); !errors.Is(err, pipeline.ErrNotConnected) {
		t.Fatalf("Write = %v, want ErrNotConnected", err)
	}
	if err := sink.Write(ctx, batch); !errors.Is(err, pipeline.ErrNotConnected) {
		t.Fatalf("Write before reconnecting = %v, want ErrNotConnected", err)
	}
	if err := sink.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	reason := errors.New("rejected")
	sink.Reject(func(m *pipeline.Message) error {
		if string(m.Value) == "bad" {
			return reason
		}
		return nil
	})
	var pe *pipeline.PoisonError
	if err := sink.Write(ctx, batch); !errors.As(err, &pe) || len(pe.Errs) != 1 || pe.Errs[1] != reason {
		t.Fatalf("Write = %v, want a PoisonError naming index 1", err)
	}
	if got := sink.Count(); got != 1 {
		t.Errorf("Count = %d, want 1", got)
	}
}

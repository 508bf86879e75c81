package benchmark

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// scriptedSender fails its first sends with the errors in refuse, then counts each send as
// one warm-up arrival.
type scriptedSender struct {
	refuse []error
	a      *arrivals
	sends  int
}

func (s *scriptedSender) send(context.Context, [][]byte) error {
	s.sends++
	if len(s.refuse) > 0 {
		err := s.refuse[0]
		s.refuse = s.refuse[1:]
		return err
	}
	s.a.warmN.Add(1)
	return nil
}

func TestWarmUp(t *testing.T) {
	notLeader := fmt.Errorf("produce to t[0]: %w", kafka.NotLeaderForPartition)
	tests := []struct {
		name      string
		refuse    []error
		wantErr   string // "": the warm-up completes
		wantSends int
	}{
		{name: "accepted at once", wantSends: 4},
		{name: "a fresh partition's leader not serving yet", refuse: []error{notLeader, notLeader, kafka.LeaderNotAvailable}, wantSends: 7},
		{name: "a permanent refusal ends it", refuse: []error{kafka.TopicAuthorizationFailed}, wantErr: "Topic Authorization Failed", wantSends: 1},
		{name: "any other failure ends it", refuse: []error{errors.New("connection refused")}, wantErr: "connection refused", wantSends: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newArrivals(0, true)
			s := &scriptedSender{refuse: tt.refuse, a: a}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := warmUp(ctx, s, a, 2, make(chan struct{}))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("warm-up: %v, want success", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("warm-up: %v, want an error with %q", err, tt.wantErr)
			}
			if s.sends != tt.wantSends {
				t.Errorf("%d sends, want %d", s.sends, tt.wantSends)
			}
		})
	}
}

func TestWarmUpNamesTheLastRefusalWhenNothingArrives(t *testing.T) {
	a := newArrivals(0, true)
	s := &scriptedSender{refuse: make([]error, 1000), a: a}
	for i := range s.refuse {
		s.refuse[i] = kafka.NotLeaderForPartition
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := warmUp(ctx, s, a, 2, make(chan struct{}))
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, kafka.NotLeaderForPartition) {
		t.Fatalf("warm-up: %v, want the deadline and the last refusal", err)
	}
}

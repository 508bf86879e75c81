package streamsea_test

import (
	"errors"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/streamsea"
	"github.com/seabridge/seabridge/internal/streamsea/emulator"
)

// The server's Retry-After on 429 and 503 reaches the caller as APIError.RetryDelay, in both
// of its forms; other statuses carry none.
func TestClientReadsRetryAfter(t *testing.T) {
	emu, client := startEmulator(t)
	future := time.Now().Add(90 * time.Second).UTC().Format(time.RFC1123)
	future = future[:len(future)-3] + "GMT"
	for _, tc := range []struct {
		name     string
		fault    emulator.Fault
		min, max time.Duration
	}{
		{"429 seconds", emulator.Fault{Kind: emulator.FaultError, Status: 429, RetryAfter: "7"}, 7 * time.Second, 7 * time.Second},
		{"503 http date", emulator.Fault{Kind: emulator.FaultError, Status: 503, RetryAfter: future}, 80 * time.Second, 90 * time.Second},
		{"503 date in the past", emulator.Fault{Kind: emulator.FaultError, Status: 503, RetryAfter: "Wed, 21 Oct 2015 07:28:00 GMT"}, 0, 0},
		{"503 garbage", emulator.Fault{Kind: emulator.FaultError, Status: 503, RetryAfter: "soon"}, 0, 0},
		{"503 without", emulator.Fault{Kind: emulator.FaultError, Status: 503}, 0, 0},
		{"500 ignores it", emulator.Fault{Kind: emulator.FaultError, Status: 500, RetryAfter: "7"}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fault.Count = 1
			if _, err := emu.AddFault(tc.fault); err != nil {
				t.Fatal(err)
			}
			err := client.Publish(t.Context(), "s", []byte(`{"a":1}`))
			apiErr, ok := errors.AsType[*streamsea.APIError](err)
			if !ok || apiErr.Status != tc.fault.Status {
				t.Fatalf("Publish = %v, want the injected %d", err, tc.fault.Status)
			}
			if got := apiErr.RetryDelay(); got < tc.min || got > tc.max {
				t.Errorf("RetryDelay = %v, want in [%v, %v]", got, tc.min, tc.max)
			}
			if !streamsea.IsRetriable(err) {
				t.Errorf("%v is not retriable", err)
			}
		})
	}
}

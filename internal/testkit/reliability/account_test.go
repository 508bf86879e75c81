package reliability

import (
	"strings"
	"testing"
	"time"
)

// ledgerOf builds a ledger of n messages, all sent, from a description per message:
// "a" arrived, "aa" arrived twice, "d" dead-lettered, "-" lost, "u" unsent, "w" arrived wrong;
// a leading "p" marks the message as poison.
func ledgerOf(marks ...string) *Ledger {
	l := NewLedger(len(marks))
	t0 := time.Unix(1000, 0)
	for i, m := range marks {
		if strings.HasPrefix(m, "p") {
			l.Poison[i] = true
			m = m[1:]
		}
		if m == "u" {
			continue
		}
		l.MarkSent(i, t0)
		for _, c := range m {
			switch c {
			case 'a':
				l.Arrive(i, t0, "")
			case 'w':
				l.Arrive(i, t0, "bad")
			case 'd':
				l.DeadLetter(i, t0)
			}
		}
	}
	return l
}

func TestAccount(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ledger *Ledger
		server ServerLosses
		bridge BridgeCounts
		want   Accounting
	}{
		{
			name:   "every message once",
			ledger: ledgerOf("a", "a", "pd"),
			want:   Accounting{Sent: 3, Delivered: 3},
		},
		{
			name:   "duplicates and a second copy in the dead-letter topic count as duplicated",
			ledger: ledgerOf("aa", "a", "pdd"),
			want:   Accounting{Sent: 3, Delivered: 3, Duplicated: 2},
		},
		{
			name:   "losses go to the server first, up to what it counted",
			ledger: ledgerOf("a", "-", "-", "-"),
			server: ServerLosses{Unrouted: 1, Dropped: 1},
			want: Accounting{Sent: 4, Delivered: 1, Lost: 3, LostByServer: ServerLosses{Unrouted: 1, Dropped: 1},
				LostByBridgeSilent: 1},
		},
		{
			name:   "the server cannot take more than was lost",
			ledger: ledgerOf("a", "-"),
			server: ServerLosses{Unrouted: 5, Transit: 3},
			want:   Accounting{Sent: 2, Delivered: 1, Lost: 1, LostByServer: ServerLosses{Unrouted: 1}},
		},
		{
			name:   "bridge counts count only with a log line",
			ledger: ledgerOf("-", "-", "-"),
			bridge: BridgeCounts{Nacked: 1, Undelivered: 1},
			want:   Accounting{Sent: 3, Lost: 3, LostByBridgeSilent: 3},
		},
		{
			name:   "logged bridge counts, then silence",
			ledger: ledgerOf("-", "-", "-", "a"),
			server: ServerLosses{Transit: 1},
			bridge: BridgeCounts{Nacked: 1, Logged: true},
			want: Accounting{Sent: 4, Delivered: 1, Lost: 3, LostByServer: ServerLosses{Transit: 1},
				LostByBridgeCounted: 1, LostByBridgeSilent: 1},
		},
		{
			name:   "poison at the sink and good messages only dead-lettered are misrouted",
			ledger: ledgerOf("pa", "d", "ad"),
			want:   Accounting{Sent: 3, Delivered: 1, Duplicated: 1, Misrouted: 2},
		},
		{
			name:   "wrong content and unsent messages",
			ledger: ledgerOf("w", "u", "a"),
			want:   Accounting{Sent: 2, Delivered: 1, Wrong: 1, Unsent: 1, FirstWrong: "seq 0: bad"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Account(tc.ledger, tc.server, tc.bridge); got != tc.want {
				t.Fatalf("Account:\n got  %+v\n want %+v", got, tc.want)
			}
		})
	}
}

func TestLostText(t *testing.T) {
	a := Accounting{Lost: 7, LostByServer: ServerLosses{Unrouted: 3, Transit: 1}, LostByBridgeCounted: 2, LostByBridgeSilent: 1}
	want := "7 (server: no subscriber 3, network: in flight at a reset 1, bridge, counted 2, bridge, silent 1)"
	if got := a.LostText(); got != want {
		t.Fatalf("LostText = %q, want %q", got, want)
	}
	if got := (Accounting{}).LostText(); got != "0" {
		t.Fatalf("LostText of nothing lost = %q", got)
	}
}

func TestRecovery(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	heal := at(10)
	l := NewLedger(4)
	// sent before the heal, arrived 3 s after it (a backlog)
	l.MarkSent(0, at(5))
	l.Arrive(0, at(13), "")
	// sent before, arrived before
	l.MarkSent(1, at(6))
	l.Arrive(1, at(7), "")
	// the first sent after the heal arrives 1 s after it
	l.MarkSent(2, at(10.5))
	l.Arrive(2, at(11), "")
	// a later one arriving late does not count
	l.MarkSent(3, at(12))
	l.Arrive(3, at(40), "")
	if d, ok := l.Recovery(heal); !ok || d != 3*time.Second {
		t.Fatalf("Recovery = %v, %v; want 3s (the backlog's last arrival)", d, ok)
	}

	// Without a backlog, the first message after the heal decides.
	l2 := NewLedger(2)
	l2.MarkSent(0, at(5))
	l2.Arrive(0, at(5.1), "")
	l2.MarkSent(1, at(10.1))
	l2.Arrive(1, at(12.1), "")
	if d, ok := l2.Recovery(heal); !ok || d.Round(time.Millisecond) != 2100*time.Millisecond {
		t.Fatalf("Recovery = %v, %v; want 2.1s", d, ok)
	}

	// Nothing sent after the heal: no recovery to measure.
	l3 := NewLedger(1)
	l3.MarkSent(0, at(5))
	l3.Arrive(0, at(11), "")
	if _, ok := l3.Recovery(heal); ok {
		t.Fatal("Recovery measured without a message sent after the heal")
	}
}

func TestLostRanges(t *testing.T) {
	l := ledgerOf("-", "-", "a", "-", "a", "-", "-", "-", "u")
	if got := l.LostRanges(10); got != "0-1, 3, 5-7" {
		t.Fatalf("LostRanges = %q", got)
	}
	if got := l.LostRanges(2); got != "0-1, 3, ..." {
		t.Fatalf("LostRanges(2) = %q", got)
	}
}

func TestLedgerIgnoresUnknownNumbers(t *testing.T) {
	l := NewLedger(2)
	if l.Arrive(2, time.Now(), "") || l.Arrive(-1, time.Now(), "") || l.DeadLetter(5, time.Now()) {
		t.Fatal("a number outside the ledger was accepted")
	}
	if arrived, sent := l.Progress(); arrived != 0 || sent != 0 {
		t.Fatalf("Progress = %d, %d", arrived, sent)
	}
}

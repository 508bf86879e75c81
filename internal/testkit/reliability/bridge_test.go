package reliability

import "testing"

func TestLogLosses(t *testing.T) {
	for _, tc := range []struct {
		name                string
		log                 string
		nacked, undelivered int
		logged              bool
	}{
		{"nothing", "level=INFO msg=\"bridge stopped\" error=<nil>\n", 0, 0, false},
		{"zero counts are not losses", "level=INFO msg=summary pipeline=p nacked=0 undelivered=0\n", 0, 0, false},
		{"a summary line", "level=WARN msg=summary pipeline=p in=10 out=4 nacked=5 undelivered=1\n", 5, 1, true},
		{"the runner's error", "level=ERROR msg=\"bridge stopped\" error=\"shutdown budget expired after 1s: 91 message(s) nacked\"\n", 91, 0, true},
		{"the source's line sums unacked and buffered", "level=WARN msg=\"stream-sea messages received but not delivered\" unacked=3 buffered=4\n", 0, 7, true},
		{"the largest of repeated lines", "nacked=3\nnacked=5\n", 5, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, u, logged := logLosses(tc.log)
			if n != tc.nacked || u != tc.undelivered || logged != tc.logged {
				t.Fatalf("logLosses = %d, %d, %v; want %d, %d, %v", n, u, logged, tc.nacked, tc.undelivered, tc.logged)
			}
		})
	}
}

func TestLinesOf(t *testing.T) {
	log := "a pipeline=p x=1\nb pipeline=q x=2\nc no pipeline\nd pipeline=p\ne pipeline=pp\n{\"pipeline\":\"p\"}"
	if got, want := linesOf(log, "p"), "a pipeline=p x=1\nc no pipeline\nd pipeline=p\n{\"pipeline\":\"p\"}"; got != want {
		t.Fatalf("linesOf = %q, want %q", got, want)
	}
}

func TestExitCause(t *testing.T) {
	stderr := "level=INFO msg=start\npanic: invalid type: time.Time\n\ngoroutine 1 [running]:\nmain.main()\n"
	if got := exitCause(stderr); got != "panic: invalid type: time.Time" {
		t.Fatalf("exitCause = %q", got)
	}
	if got := exitCause("a\nlast line\n"); got != "last line" {
		t.Fatalf("exitCause = %q", got)
	}
}

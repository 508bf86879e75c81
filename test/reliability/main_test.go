//go:build reliability

// Package reliability holds the scenarios of `make reliability` (every Test* but TestSoak)
// and `make soak` (TestSoak). Each scenario is one test, built on internal/testkit/reliability;
// TestMain prints the table of every scenario that ran. The build tag keeps them out of
// `go test ./...`: they run the bridge for minutes.
//
//	go test -tags reliability -count=1 -timeout 90m ./test/reliability/            # full
//	go test -tags reliability -count=1 -short -run 'TestX|TestY' ./test/reliability/  # short
//
// A new scenario is one file here with one test:
//
//	func TestSomething(t *testing.T) {
//		sc := suite.Begin(t, reliability.Setup{Name: "row name", Direction: reliability.StreamseaToKafka})
//		cfg := sc.Config()               // connections and the scenario's pipeline; cfg.Set to change keys
//		b := sc.StartBridge(cfg)         // the bridge as its own process, ready
//		sc.Publish()                     // numbered messages, at Setup.Rate, in the background
//		sc.WaitSent(sc.Messages / 3)
//		sc.Hold("what", 10*time.Second, start, heal) // or b.Restart, sc.Emulator.Restart, ...
//		sc.Expect(cond, "what went wrong")           // extra conditions of the verdict
//		sc.Finish()                      // accounts for every message, adds the row, fails on FAIL
//	}
//
// To run it inside make test as well, add its name to reliability_short in scripts/test.sh.
package reliability

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/seabridge/seabridge/internal/testkit/reliability"
)

// suite is the run every scenario adds its row to.
var suite *reliability.Suite

func TestMain(m *testing.M) {
	flag.Parse()
	suite = reliability.NewSuite(testing.Short())
	code := m.Run()
	if err := suite.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	if err := suite.Report(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

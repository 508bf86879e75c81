//go:build reliability

// Package reliability holds the scenarios of `make reliability` (every Test* but TestSoak)
// and `make soak` (TestSoak). Each scenario is one test in a file of its own, built on
// internal/testkit/reliability; TestMain prints the table of every scenario that ran. The
// build tag keeps them out of `go test ./...`: they run the bridge for minutes.
//
//	go test -tags reliability -count=1 -timeout 90m ./test/reliability/            # full
//	go test -tags reliability -count=1 -short -run 'TestX|TestY' ./test/reliability/  # short
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

package inspect

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a goroutine of a tail or a send outlives its test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

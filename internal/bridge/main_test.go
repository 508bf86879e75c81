package bridge_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when any goroutine outlives the tests: every App, emulator,
// broker, subscriber and producer a test starts must be stopped by the end of it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

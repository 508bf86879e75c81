//go:build !linux

package streamsea

import "net"

// peerClosed cannot ask the kernel without reading on this platform: a server's close is
// seen only once the reader reads again (or after DeadAfter, see Subscriber.Connected).
func peerClosed(net.Conn) bool { return false }

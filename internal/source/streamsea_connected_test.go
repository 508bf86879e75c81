package source

import (
	"context"
	"testing"
	"time"
)

// TestStreamSeaConnectedFollowsTheWebsocket: Connected is what the runner's readiness reads
// for a source that reconnects by itself, so it must be false while the websocket is down.
func TestStreamSeaConnectedFollowsTheWebsocket(t *testing.T) {
	ssVerifyNoLeaks(t)
	f := newSSFixture(t)
	opts := f.options("s3cret", 0)
	connected := make(chan struct{}, 4)
	disconnected := make(chan struct{}, 4)
	opts.Subscriber.Hooks.OnConnect = func() { connected <- struct{}{} }
	opts.Subscriber.Hooks.OnDisconnect = func(error) { disconnected <- struct{}{} }
	// Long reconnect delays keep the websocket down long enough to observe it.
	opts.Subscriber.Backoff.Initial = 300 * time.Millisecond
	opts.Subscriber.Backoff.Max = 300 * time.Millisecond
	src := f.source(t, opts)
	if src.Connected() {
		t.Fatal("Connected before Connect")
	}
	ssConnect(t, src)
	<-connected
	if !src.Connected() {
		t.Fatal("not Connected after Connect")
	}
	f.emu.DropConnections()
	select {
	case <-disconnected:
	case <-time.After(5 * time.Second):
		t.Fatal("no disconnect seen within 5s")
	}
	if src.Connected() {
		t.Fatal("Connected while the websocket is down")
	}
	select {
	case <-connected:
	case <-time.After(5 * time.Second):
		t.Fatal("no reconnect within 5s")
	}
	if !src.Connected() {
		t.Fatal("not Connected after the reconnect")
	}
	if err := src.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if src.Connected() {
		t.Fatal("Connected after Close")
	}
}

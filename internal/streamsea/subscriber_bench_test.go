package streamsea

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// BenchmarkSubscriberThroughput measures deliveries per second through Subscriber.Next when
// the server pushes pre-encoded 200-byte deliveries as fast as it can.
func BenchmarkSubscriberThroughput(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { benchmarkThroughput(b, batch) })
	}
}

func benchmarkThroughput(b *testing.B, batch int) {
	srv := newWSTestServer(b, 1).start()
	sub, err := NewSubscriber(testOptions(srv.url(), Subscription{Stream: "bench"}), discardLogger())
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- sub.Run(ctx) }()
	defer func() { cancel(); <-runDone }()
	sc := srv.next(b)
	frame := benchFrame(batch)
	frames := (b.N + batch - 1) / batch
	pushDone := make(chan error, 1)
	b.SetBytes(200)
	b.ReportAllocs()
	b.ResetTimer()
	go func() { pushDone <- push(sc, frame, frames) }()
	for i := range b.N {
		d, err := sub.Next(ctx)
		if err != nil {
			b.Fatalf("Next %d: %v", i, err)
		}
		sub.Release(d)
		if len(d.Payload) != 200 {
			b.Fatalf("payload of %d bytes", len(d.Payload))
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if err := <-pushDone; err != nil {
		b.Fatal(err)
	}
}

// benchFrame returns a delivery frame on id 2 holding batch 200-byte objects.
func benchFrame(batch int) *websocket.PreparedMessage {
	obj := `{"vessel":"MAERSK","n":12345,"pad":"` + strings.Repeat("p", 200-len(`{"vessel":"MAERSK","n":12345,"pad":""}`)) + `"}`
	payload := obj
	if batch > 1 {
		payload = "[" + strings.Repeat(obj+",", batch-1) + obj + "]"
	}
	frame := `{"id":2,"action":"subscription","streamName":"bench","payload":` + payload + `}`
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, []byte(frame))
	if err != nil {
		panic(err)
	}
	return pm
}

func push(sc *serverConn, frame *websocket.PreparedMessage, n int) error {
	sc.writeMu.Lock()
	defer sc.writeMu.Unlock()
	for range n {
		if err := sc.ws.WritePreparedMessage(frame); err != nil {
			return err
		}
	}
	return nil
}

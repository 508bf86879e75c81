package emulator

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// BenchmarkPublishFanout measures the publish path after HTTP decoding: publication of a small
// message (without and with a schema to validate) to a stream with six subscriptions on six
// connections in four groups (two explicit groups of two members, and the default groups of
// two clients), each drained by a reading client. One op is one message published; the timer
// runs until every delivery was written or dropped.
func BenchmarkPublishFanout(b *testing.B) {
	for _, withSchema := range []bool{false, true} {
		b.Run(fmt.Sprintf("schema=%v", withSchema), func(b *testing.B) {
			benchmarkFanout(b, withSchema)
		})
	}
}

func benchmarkFanout(b *testing.B, withSchema bool) {
	s := startServer(b, Options{QueueSize: 1 << 16})
	groups := []string{groupA, groupA, groupB, groupB, "", ""}
	readers := make(chan int, len(groups))
	for i, g := range groups {
		c := login(b, s)
		if i == 5 {
			c = dial(b, s)
			c.authBasic("bob", "bob-secret")
		}
		c.subscribe("bench", g)
		go func() {
			n := 0
			for {
				if _, _, err := c.conn.ReadMessage(); err != nil {
					readers <- n
					return
				}
				n++
			}
		}()
	}
	st := s.reg.stream(DefaultJail, "bench", false)
	if withSchema {
		def, _, err := parseDefinition([]byte(`{"version":1,"fields":[{"name":"n","type":"integer"},{"name":"ship","type":"string"}]}`), "bench")
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := st.define(def); err != nil {
			b.Fatal(err)
		}
	}
	payload := json.RawMessage(`{"n":12345,"ship":"Maersk Mc-Kinney Moller"}`)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		p, problems := newPublication(st, payload)
		if problems != nil {
			b.Fatal(problems)
		}
		if err := s.publish(p); err != nil {
			b.Fatal(err)
		}
	}
	want := uint64(b.N) * 4 // groups A and B, plus one default group per client (alice, bob)
	deadline := time.Now().Add(30 * time.Second)
	for st.delivered.Load()+st.dropped.Load() < want && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	if d := st.dropped.Load(); d > 0 {
		b.Logf("dropped %d of %d deliveries", d, want)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
	s.DropConnections()
	for range groups {
		<-readers
	}
}

package emulator

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	groupA = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
	groupB = "6ba7b811-9dad-11d1-80b4-00c04fd430c8"
)

// collect reads deliveries from the clients until n arrived in total, then for 300 ms more
// (any delivery beyond n is an extra, which the callers' checks see), and returns the "n"
// field of every message each client received, in order. It gives up after 60 s: a pause in
// publishing or delivering (a loaded machine) must not end it early. A read deadline that
// passes leaves a websocket unusable, so each connection gets one deadline, moved once.
func collect(t *testing.T, n int, clients ...*wsClient) [][]int {
	t.Helper()
	out := make([][]int, len(clients))
	var mu sync.Mutex
	total := 0
	for _, c := range clients {
		_ = c.conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	}
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, data, err := c.conn.ReadMessage()
				if err != nil {
					return // the deadline passed, or the connection closed
				}
				var f wireFrame
				var msg struct{ N int }
				if json.Unmarshal(data, &f) != nil || json.Unmarshal(f.Payload, &msg) != nil {
					t.Errorf("client %d: frame %s is not a delivery", i, data)
					return
				}
				mu.Lock()
				out[i] = append(out[i], msg.N)
				if total++; total == n {
					for _, c := range clients {
						_ = c.conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out
}

func publishN(t *testing.T, hc *http.Client, s *Server, stream string, n int) {
	t.Helper()
	for i := range n {
		publish(t, hc, s, stream, map[string]any{"n": i})
	}
}

func TestGroupMembersSplitMessages(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	a, b := login(t, s), login(t, s)
	a.subscribe("s", groupA)
	b.subscribe("s", groupA)
	const n = 1000
	done := make(chan [][]int)
	go func() { done <- collect(t, n, a, b) }()
	publishN(t, hc, s, "s", n)
	got := <-done
	if len(got[0]) != n/2 || len(got[1]) != n/2 {
		t.Fatalf("split %d/%d, want %d each", len(got[0]), len(got[1]), n/2)
	}
	seen := make([]bool, n)
	for _, msgs := range got {
		for _, m := range msgs {
			if seen[m] {
				t.Fatalf("message %d delivered twice", m)
			}
			seen[m] = true
		}
	}
	for i, ok := range seen {
		if !ok {
			t.Fatalf("message %d lost", i)
		}
	}
	// Round robin: each member receives every other message.
	first := got[0][0] % 2
	for i, m := range got[0] {
		if m != 2*i+first {
			t.Fatalf("member 1 message %d is %d, want %d", i, m, 2*i+first)
		}
	}
}

func TestDistinctGroupsEachGetEverything(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	a, b := login(t, s), login(t, s)
	a.subscribe("s", groupA)
	b.subscribe("s", groupB)
	const n = 200
	done := make(chan [][]int)
	go func() { done <- collect(t, 2*n, a, b) }()
	publishN(t, hc, s, "s", n)
	got := <-done
	for i, msgs := range got {
		if len(msgs) != n {
			t.Fatalf("group %d got %d messages, want %d", i, len(msgs), n)
		}
		for k, m := range msgs {
			if m != k {
				t.Fatalf("group %d: message %d is %d (out of order)", i, k, m)
			}
		}
	}
}

func TestBatchGoesWholeToOneMember(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	a, b := login(t, s), login(t, s)
	a.subscribe("s", groupA)
	b.subscribe("s", groupA)
	batch := []any{map[string]any{"n": 1}, map[string]any{"n": 2}, map[string]any{"n": 3}}
	publish(t, hc, s, "s", batch)
	publish(t, hc, s, "s", batch)
	for _, c := range []*wsClient{a, b} {
		if f := c.read(); compact(f.Payload) != `[{"n":1},{"n":2},{"n":3}]` {
			t.Fatalf("got %s, want the whole batch", f.Payload)
		}
	}
}

func TestDefaultGroupIsPerClient(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	a1, a2 := login(t, s), login(t, s)
	bob := dial(t, s)
	if f := bob.authBasic("bob", "bob-secret"); f.Success == nil || !*f.Success {
		t.Fatal("auth bob")
	}
	for _, c := range []*wsClient{a1, a2, bob} {
		c.subscribe("s", "")
	}
	const n = 10
	done := make(chan [][]int)
	go func() { done <- collect(t, 2*n, a1, a2, bob) }()
	publishN(t, hc, s, "s", n)
	got := <-done
	if len(got[0]) != n/2 || len(got[1]) != n/2 || len(got[2]) != n {
		t.Fatalf("alice x2 got %d+%d, bob got %d; want %d+%d and %d", len(got[0]), len(got[1]), len(got[2]), n/2, n/2, n)
	}
}

func TestMustFanoutMakesEverySubscriptionItsOwnGroup(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	key := withJWTKey(t, s)
	token := signJWT(t, key, jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix(), "mustFanout": true})
	var clients []*wsClient
	for range 2 {
		c := dial(t, s)
		if f := c.authJWT(token); f.Success == nil || !*f.Success {
			t.Fatalf("auth %+v", f)
		}
		c.subscribe("s", groupA) // same group id, ignored under mustFanout
		clients = append(clients, c)
	}
	const n = 20
	done := make(chan [][]int)
	go func() { done <- collect(t, 2*n, clients...) }()
	publishN(t, hc, s, "s", n)
	got := <-done
	if len(got[0]) != n || len(got[1]) != n {
		t.Fatalf("got %d and %d, want %d each", len(got[0]), len(got[1]), n)
	}
}

func TestJWTFilterSelectsMessages(t *testing.T) {
	s := startServer(t, Options{})
	hc := httpClient(t)
	key := withJWTKey(t, s)
	filter := map[string]any{"t": "and", "e": []any{
		map[string]any{"t": "eq", "e": []any{map[string]any{"t": "meta", "e": "streamName"}, map[string]any{"t": "string", "e": "s"}}},
		map[string]any{"t": "eq", "e": []any{map[string]any{"t": "path", "e": "ship.flag"}, map[string]any{"t": "string", "e": "DK"}}},
	}}
	c := dial(t, s)
	if f := c.authJWT(signJWT(t, key, jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix(), "filter": filter})); f.Success == nil || !*f.Success {
		t.Fatalf("auth %+v", f)
	}
	c.subscribe("s", "")
	c.subscribe("t", "")
	publish(t, hc, s, "t", map[string]any{"n": 0, "ship": map[string]any{"flag": "DK"}}) // other stream
	publish(t, hc, s, "s", map[string]any{"n": 1, "ship": map[string]any{"flag": "SE"}})
	publish(t, hc, s, "s", map[string]any{"n": 2, "ship": 5}) // evaluation error
	publish(t, hc, s, "s", []any{
		map[string]any{"n": 3, "ship": map[string]any{"flag": "DK"}},
		map[string]any{"n": 4, "ship": map[string]any{"flag": "NO"}},
		map[string]any{"n": 5, "ship": map[string]any{"flag": "DK"}},
	})
	publish(t, hc, s, "s", map[string]any{"n": 6, "ship": map[string]any{"flag": "DK"}})
	if f := c.read(); compact(f.Payload) != `[{"n":3,"ship":{"flag":"DK"}},{"n":5,"ship":{"flag":"DK"}}]` {
		t.Fatalf("first delivery %s, want the matching elements of the batch", f.Payload)
	}
	if f := c.read(); compact(f.Payload) != `{"n":6,"ship":{"flag":"DK"}}` {
		t.Fatalf("second delivery %s", f.Payload)
	}
}

package emulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/backoff"
	"github.com/seabridge/seabridge/internal/streamsea"
)

func newAPIClient(t *testing.T, s *Server, id, secret string, gzip bool) *streamsea.Client {
	t.Helper()
	c, err := streamsea.NewClient(streamsea.ClientOptions{BaseURL: s.URL(), ClientID: id, ClientSecret: secret, Gzip: gzip})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// everyFieldType is a schema using each of the eleven field types.
func everyFieldType(version streamsea.Version) *streamsea.Schema {
	return &streamsea.Schema{Name: "everything", Version: version, Fields: []streamsea.Field{
		{Name: "s", Type: streamsea.TypeString},
		{Name: "f", Type: streamsea.TypeFloat},
		{Name: "i", Type: streamsea.TypeInteger},
		{Name: "d", Type: streamsea.TypeDate},
		{Name: "as", Type: streamsea.TypeStringArray},
		{Name: "af", Type: streamsea.TypeFloatArray},
		{Name: "ai", Type: streamsea.TypeIntegerArray},
		{Name: "ad", Type: streamsea.TypeDateArray},
		{Name: "e", Type: streamsea.TypeEnum, Enum: []string{"port", "starboard"}},
		{Name: "o", Type: streamsea.TypeObject, Fields: []streamsea.Field{{Name: "x", Type: streamsea.TypeInteger}}},
		{Name: "ao", Type: streamsea.TypeObjectArray, Fields: []streamsea.Field{
			{Name: "load", Type: streamsea.TypeString},
			{Name: "inner", Type: streamsea.TypeObject, Fields: []streamsea.Field{{Name: "y", Type: streamsea.TypeEnum, Enum: []string{"a"}}}},
		}},
	}}
}

const everythingPayload = `{"s":"x","f":1.5,"i":3,"d":"2024-05-01T10:00:00Z","as":["a"],"af":[1,2.5],"ai":[1],` +
	`"ad":["2024-05-01T10:00:00Z"],"e":"port","o":{"x":1},"ao":[{"load":"l","inner":{"y":"a"}}]}`

func TestClientStreamOperations(t *testing.T) {
	for _, gzip := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%v", gzip), func(t *testing.T) {
			s := startServer(t, Options{})
			c := newAPIClient(t, s, testClient, testSecret, gzip)
			ctx := context.Background()
			def := everyFieldType(1)
			stored, err := c.DefineStream(ctx, def)
			if err != nil || !stored.Equal(def) {
				t.Fatalf("define: %v, stored %+v", err, stored)
			}
			got, err := c.DescribeStream(ctx, "everything")
			if err != nil || !got.Equal(def) {
				t.Fatalf("describe: %v, got %+v", err, got)
			}
			if _, err := c.DefineStream(ctx, def); err != nil {
				t.Fatalf("defining the same version again: %v", err)
			}
			versions, err := c.SchemaVersions(ctx, []string{"missing", "everything"})
			if err != nil || len(versions) != 2 || versions[0] != nil || versions[1] == nil || *versions[1] != 1 {
				t.Fatalf("versions: %v %v", versions, err)
			}
			if err := c.Publish(ctx, "everything", []byte(everythingPayload)); err != nil {
				t.Fatalf("publish: %v", err)
			}
			if err := c.PublishBatch(ctx, "everything", [][]byte{[]byte(everythingPayload), []byte(everythingPayload)}); err != nil {
				t.Fatalf("publish batch: %v", err)
			}
			if st := streamStats(s, DefaultJail, "everything"); st.Published != 3 {
				t.Fatalf("published %d, want 3", st.Published)
			}
		})
	}
}

func TestClientErrorPaths(t *testing.T) {
	s := startServer(t, Options{MaxBodyBytes: 2048})
	ctx := context.Background()
	c := newAPIClient(t, s, testClient, testSecret, true)
	if _, err := c.DefineStream(ctx, everyFieldType(2)); err != nil {
		t.Fatal(err)
	}
	var apiErr *streamsea.APIError
	bad := newAPIClient(t, s, testClient, "wrong", false)
	if err := bad.Publish(ctx, "s", []byte(`{}`)); !errors.Is(err, streamsea.ErrUnauthorized) {
		t.Errorf("bad credentials: %v", err)
	}
	if _, err := c.DescribeStream(ctx, "nope"); !errors.Is(err, streamsea.ErrStreamNotFound) {
		t.Errorf("describe unknown: %v", err)
	}
	_, err := c.DefineStream(ctx, everyFieldType(1))
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || !strings.Contains(apiErr.Message, "older version") {
		t.Errorf("lower version: %v", err)
	}
	changed := everyFieldType(2)
	changed.Fields = changed.Fields[:3]
	if _, err := c.DefineStream(ctx, changed); !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest {
		t.Errorf("same version, other fields: %v", err)
	}
	invalid := &streamsea.Schema{Name: "inv", Version: 1, Fields: []streamsea.Field{{Name: "x", Type: "strng"}}}
	if _, err := c.DefineStream(ctx, invalid); !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || len(apiErr.Errors) == 0 {
		t.Errorf("invalid definition: %v", err)
	}
	err = c.PublishBatch(ctx, "everything", [][]byte{[]byte(everythingPayload), []byte(`{"s":1}`)})
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || len(apiErr.Errors) == 0 ||
		!strings.HasPrefix(apiErr.Errors[0], "payload[1].") {
		t.Errorf("invalid batch element: %v", err)
	}
	big := []byte(`{"blob":"` + strings.Repeat("x", 4096) + `"}`)
	if err := c.Publish(ctx, "free", big); !errors.As(err, &apiErr) || apiErr.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("too big: %v", err)
	}
}

func TestClientManagementOperations(t *testing.T) {
	s := startServer(t, Options{})
	ctx := context.Background()
	c := newAPIClient(t, s, testClient, testSecret, false)
	cred, err := c.CreateClient(ctx, streamsea.CreateClientRequest{ClientID: "dave", Description: "d"})
	if err != nil || cred.GivenID != "dave" || cred.Secret == "" {
		t.Fatalf("create client: %+v %v", cred, err)
	}
	dave := newAPIClient(t, s, "dave", cred.Secret, false)
	rotated, err := dave.RotateSecret(ctx)
	if err != nil || rotated.Secret == "" || rotated.Secret == cred.Secret {
		t.Fatalf("rotate: %+v %v", rotated, err)
	}
	_, pemKey := rsaKeyPEM(t)
	dave = newAPIClient(t, s, "dave", rotated.Secret, false)
	if k, err := dave.SetJWTPublicKey(ctx, pemKey); err != nil || k.JWTPublicKey == nil || *k.JWTPublicKey != pemKey {
		t.Fatalf("set key: %+v %v", k, err)
	}
	if k, err := dave.SetJWTPublicKey(ctx, ""); err != nil || k.JWTPublicKey != nil {
		t.Fatalf("clear key: %+v %v", k, err)
	}
	if d, err := c.DeleteClient(ctx, "dave"); err != nil || d.ID != "dave" {
		t.Fatalf("delete client: %+v %v", d, err)
	}
	if _, err := c.DeleteClient(ctx, "dave"); !errors.Is(err, streamsea.ErrStreamNotFound) {
		t.Errorf("delete twice: %v", err) // a 404, whatever the sentinel's name
	}
	jail, err := c.CreateJail(ctx, streamsea.CreateJailRequest{NewJailID: "j", NewJailName: "J", NewClientID: "erin"})
	if err != nil || jail.NewClientSecret == "" {
		t.Fatalf("create jail: %+v %v", jail, err)
	}
	erin := newAPIClient(t, s, "erin", jail.NewClientSecret, false)
	if _, err := erin.SchemaVersions(ctx, []string{"x"}); err != nil {
		t.Fatalf("client of the new jail: %v", err)
	}
	if d, err := c.DeleteJail(ctx, "j"); err != nil || d.ID != "j" {
		t.Fatalf("delete jail: %+v %v", d, err)
	}
	if _, err := erin.SchemaVersions(ctx, []string{"x"}); !errors.Is(err, streamsea.ErrUnauthorized) {
		t.Errorf("client of a deleted jail: %v", err)
	}
}

// runSubscriber starts a Subscriber; connects receives a value at each OnConnect. The
// subscriber stops at the end of the test.
func runSubscriber(t *testing.T, s *Server, secret string, subs ...streamsea.Subscription) (*streamsea.Subscriber, chan struct{}, chan error) {
	t.Helper()
	connects := make(chan struct{}, 16)
	sub, err := streamsea.NewSubscriber(streamsea.SubscriberOptions{
		URL: s.URL(), ClientID: testClient, ClientSecret: secret, Subscriptions: subs,
		Backoff: backoff.Policy{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		Hooks:   streamsea.Hooks{OnConnect: func() { connects <- struct{}{} }},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("subscriber did not stop")
		}
	})
	return sub, connects, done
}

func awaitConnect(t *testing.T, connects chan struct{}) {
	t.Helper()
	select {
	case <-connects:
	case <-time.After(5 * time.Second):
		t.Fatal("subscriber did not connect")
	}
}

func nextPayload(t *testing.T, sub *streamsea.Subscriber) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := sub.Next(ctx)
	if err != nil {
		t.Fatalf("next: %v", err)
	}
	sub.Release(d)
	return string(d.Payload)
}

func TestSubscriberGroupsAndReconnect(t *testing.T) {
	s := startServer(t, Options{})
	c := newAPIClient(t, s, testClient, testSecret, false)
	ctx := context.Background()
	g := streamsea.Subscription{Stream: "s", GroupID: groupA}
	a, aConn, _ := runSubscriber(t, s, testSecret, g)
	b, bConn, _ := runSubscriber(t, s, testSecret, g)
	awaitConnect(t, aConn)
	awaitConnect(t, bConn)
	const n = 20
	for i := range n {
		if err := c.Publish(ctx, "s", fmt.Appendf(nil, `{"n":%d}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for range n / 2 {
		seen[nextPayload(t, a)] = true
		seen[nextPayload(t, b)] = true
	}
	if len(seen) != n {
		t.Fatalf("got %d distinct messages, want %d", len(seen), n)
	}
	// After the server drops every connection, both reconnect and receive again.
	if dropped := s.DropConnections(); dropped != 2 {
		t.Fatalf("dropped %d", dropped)
	}
	awaitConnect(t, aConn)
	awaitConnect(t, bConn)
	waitFor(t, "both subscriptions back", func() bool { return subscriptions(s, "s") == 2 })
	if err := c.PublishBatch(ctx, "s", [][]byte{[]byte(`{"k":1}`), []byte(`{"k":2}`)}); err != nil {
		t.Fatal(err)
	}
	if err := c.PublishBatch(ctx, "s", [][]byte{[]byte(`{"k":1}`), []byte(`{"k":2}`)}); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []*streamsea.Subscriber{a, b} {
		if p1, p2 := nextPayload(t, sub), nextPayload(t, sub); p1 != `{"k":1}` || p2 != `{"k":2}` {
			t.Fatalf("batch after reconnect: %s %s", p1, p2)
		}
	}
}

func TestSubscriberFatalAuthFailure(t *testing.T) {
	s := startServer(t, Options{})
	sub, _, done := runSubscriber(t, s, "wrong", streamsea.Subscription{Stream: "s"})
	select {
	case err := <-done:
		if !errors.Is(err, streamsea.ErrAuthFailed) {
			t.Fatalf("Run: %v, want ErrAuthFailed", err)
		}
		done <- err // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("Run kept going after an authentication failure")
	}
	if _, err := sub.Next(context.Background()); !errors.Is(err, streamsea.ErrAuthFailed) {
		t.Fatalf("Next: %v", err)
	}
}

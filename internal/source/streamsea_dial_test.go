package source

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seabridge/seabridge/internal/pipeline"
	"github.com/seabridge/seabridge/internal/streamsea"
)

func TestStreamSeaRejectedUpgradeIsFatal(t *testing.T) {
	ssVerifyNoLeaks(t)
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	f := &ssFixture{}
	opts := StreamSeaOptions{Pipeline: "boiler", Subscriber: streamsea.SubscriberOptions{
		URL: srv.URL, ClientID: "bridge", ClientSecret: "s3cret",
		Subscriptions: []streamsea.Subscription{{Stream: "boiler_data"}},
		DialTimeout:   2 * time.Second,
	}}
	src := f.source(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := src.Connect(ctx)
	if !errors.Is(err, pipeline.ErrFatal) || !errors.Is(err, streamsea.ErrHandshakeRejected) {
		t.Fatalf("Connect = %v, want ErrFatal and ErrHandshakeRejected", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Connect waited for its deadline instead of failing at once")
	}
	for _, s := range []string{`"boiler"`, "404 Not Found", "/api/v1/streams", "check the connection url"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
	if n := requests.Load(); n != 1 {
		t.Fatalf("server saw %d upgrade requests, want 1", n)
	}
	if _, _, err := src.Read(ctx); !errors.Is(err, pipeline.ErrFatal) {
		t.Fatalf("Read after the fatal Connect = %v, want ErrFatal", err)
	}
}

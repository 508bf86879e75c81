package kafkautil

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func startCluster(t *testing.T, opts ...kfake.Opt) []string {
	t.Helper()
	opts = append([]kfake.Opt{kfake.NumBrokers(1), kfake.Ports(0)}, opts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		conn    Conn
		wantErr error
	}{
		{"ok plaintext", Conn{Brokers: []string{"127.0.0.1:9092"}}, nil},
		{"ok plain", Conn{Brokers: []string{"b:9092"}, SASL: SASL{Mechanism: "plain", Username: "u", Password: "p"}}, nil},
		{"ok scram256", Conn{Brokers: []string{"b:9092"}, SASL: SASL{Mechanism: "scram-sha-256", Username: "u", Password: "p"}}, nil},
		{"ok scram512", Conn{Brokers: []string{"b:9092"}, SASL: SASL{Mechanism: "scram-sha-512", Username: "u", Password: "p"}}, nil},
		{"no brokers", Conn{}, ErrConfig},
		{"bad mechanism", Conn{Brokers: []string{"b:9092"}, SASL: SASL{Mechanism: "gssapi"}}, ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.conn.Validate()
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Validate() = %v, want %v", err, tt.wantErr)
			}
			_, derr := tt.conn.Dialer()
			_, terr := tt.conn.Transport()
			if (derr == nil) != (err == nil) || (terr == nil) != (err == nil) {
				t.Fatalf("Dialer/Transport errors %v/%v disagree with Validate %v", derr, terr, err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	plain := startCluster(t, kfake.SeedTopics(1, "present"))
	secured := startCluster(t, kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "admin", "secret"),
		kfake.Superuser("PLAIN", "padmin", "psecret"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()

	tests := []struct {
		name     string
		conn     Conn
		wantErr  bool
		wantAuth bool
	}{
		{"plaintext", Conn{Brokers: plain}, false, false},
		{"scram ok", Conn{Brokers: secured, SASL: SASL{MechanismSCRAMSHA256, "admin", "secret"}}, false, false},
		{"plain ok", Conn{Brokers: secured, SASL: SASL{MechanismPlain, "padmin", "psecret"}}, false, false},
		{"scram wrong password", Conn{Brokers: secured, SASL: SASL{MechanismSCRAMSHA256, "admin", "nope"}}, true, true},
		{"plain wrong password", Conn{Brokers: secured, SASL: SASL{MechanismPlain, "padmin", "nope"}}, true, true},
		{"unreachable", Conn{Brokers: []string{closedAddr}, DialTimeout: time.Second}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := tt.conn.Check(ctx)
			if (err != nil) != tt.wantErr || errors.Is(err, ErrAuth) != tt.wantAuth {
				t.Fatalf("Check() = %v, wantErr %v wantAuth %v", err, tt.wantErr, tt.wantAuth)
			}
		})
	}
}

func TestCheckTopics(t *testing.T) {
	conn := Conn{Brokers: startCluster(t, kfake.SeedTopics(2, "a", "b"))}
	client, tr, err := conn.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := CheckTopics(ctx, client, "a", "b"); err != nil {
		t.Fatalf("existing topics: %v", err)
	}
	if err := CheckTopics(ctx, client, "a", "missing"); !errors.Is(err, ErrTopicMissing) {
		t.Fatalf("missing topic: got %v, want ErrTopicMissing", err)
	}
	err = CheckTopics(ctx, client, "x", "a", "y", "b")
	if want := `kafka topic does not exist: "x", "y"`; err == nil || err.Error() != want {
		t.Fatalf("two missing topics: got %v, want %q", err, want)
	}
}

// Command kafkacheck exits 0 when a Kafka broker answers real protocol requests:
// ApiVersions, and a Metadata request that lists at least one broker and a
// controller. scripts/kafka.sh polls it to decide that a freshly started broker
// is ready; a listening socket alone is not enough.
//
// Usage: kafkacheck -brokers 127.0.0.1:19092 [-timeout 3s]
//
// Exit status: 0 ready, 1 not ready (the reason on stderr), 2 bad usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

func main() {
	brokers := flag.String("brokers", "127.0.0.1:19092", "comma-separated broker addresses; every one must be ready")
	timeout := flag.Duration("timeout", 3*time.Second, "time allowed for each broker's checks")
	quiet := flag.Bool("q", false, "print nothing on success")
	flag.Parse()
	if flag.NArg() != 0 || *brokers == "" {
		flag.Usage()
		os.Exit(2)
	}
	for _, addr := range strings.Split(*brokers, ",") {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		summary, err := check(ctx, strings.TrimSpace(addr))
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "kafkacheck: %s: %v\n", addr, err)
			os.Exit(1)
		}
		if !*quiet {
			fmt.Printf("kafkacheck: %s ready: %s\n", addr, summary)
		}
	}
}

// check dials addr and asks for its API versions and cluster metadata.
func check(ctx context.Context, addr string) (string, error) {
	conn, err := kafka.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(deadline); err != nil {
			return "", fmt.Errorf("set deadline: %w", err)
		}
	}
	versions, err := conn.ApiVersions()
	if err != nil {
		return "", fmt.Errorf("api versions: %w", err)
	}
	brokers, err := conn.Brokers()
	if err != nil {
		return "", fmt.Errorf("metadata: %w", err)
	}
	if len(brokers) == 0 {
		return "", errors.New("metadata lists no broker yet")
	}
	controller, err := conn.Controller()
	if err != nil {
		return "", fmt.Errorf("controller: %w", err)
	}
	return fmt.Sprintf("%d APIs, %d broker(s), controller node %d", len(versions), len(brokers), controller.ID), nil
}

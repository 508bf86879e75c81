package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/seabridge/seabridge/internal/bridge"
	"github.com/seabridge/seabridge/internal/config"
	"github.com/seabridge/seabridge/internal/streamsea/emulator"
)

//go:embed dev.toml
var devConfig []byte

const devHelp = `Run the bridge with no setup: an in-process Kafka broker (kfake), the stream-sea emulator,
a load generator and two demo pipelines (stream-sea -> Kafka and Kafka -> stream-sea) from an
embedded config. Once every pipeline is ready the load generator starts, and every few seconds
one line per pipeline shows every outcome of what it read (written, dead-lettered, dropped,
filtered, nacked, undelivered, in flight), including the poison messages the generator sends on
purpose, which reach the dead-letter topic seabridge.dlq.

With --config, your own pipelines run instead of the demo ones, against the same embedded
servers (their addresses override the "default" Kafka brokers and stream-sea url), with no load
generator. Every fixed Kafka topic the config names on the embedded broker (source, sink and
dead-letter topics) is created first, with 3 partitions, and listed. A default stream-sea
connection without client_id or client_secret gets the emulator's ("bridge", "bridge-secret");
the emulator also accepts the config's own client ids and secrets. Stops on SIGINT/SIGTERM.

With --config, SIGHUP reloads the file as 'bridge run' does (see 'bridge run --help'): the
embedded servers stay up, only the pipelines whose config changed are drained and started
again, and the fixed Kafka topics the new file names that the embedded broker lacks are
created first (a "created the topics" line lists them). The emulator keeps the credentials it
accepted at the start. Without --config, SIGHUP is logged and ignored: the demo's config is
embedded.

'bridge tail' and 'bridge send' see and feed the messages; they find these servers by
themselves (dev records its addresses in the user cache directory while it runs), also when a
default port was taken and dev listens on another one.

The demo's stream-sea -> Kafka pipeline spools what it receives on disk ([pipelines.spool]),
under --spool-dir; by default a temporary directory, removed at exit.

The embedded broker is for development only: it keeps everything in memory.`

type devFlags struct {
	config, http  string
	kafkaPort     int
	streamseaPort int
	rate          int
	progress      time.Duration
	logLevel      string
	spoolDir      string
	// explicit names the address flags given on the command line: only defaults give way
	// to a free port when they are taken.
	explicit map[string]bool
}

func cmdDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	hup, stopHUP := notifyHUP()
	defer stopHUP()
	fs := newFlagSet("dev", "[flags]", devHelp, stderr)
	var f devFlags
	fs.StringVar(&f.config, "config", "", "run this config's pipelines instead of the demo ones")
	fs.IntVar(&f.kafkaPort, "kafka-port", 9092, "port of the embedded Kafka broker on 127.0.0.1 (0: any free port; the default gives way to a free port when taken)")
	fs.IntVar(&f.streamseaPort, "streamsea-port", 3104, "port of the stream-sea emulator on 127.0.0.1 (0: any free port; the default gives way to a free port when taken)")
	fs.StringVar(&f.http, "http", "127.0.0.1:9464", "metrics and health address (the default gives way to a free port when taken)")
	fs.IntVar(&f.rate, "rate", 200, "messages per second the load generator sends each way (0: off)")
	fs.DurationVar(&f.progress, "progress", 5*time.Second, "interval of the progress line")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.spoolDir, "spool-dir", "", "directory of the demo pipeline's spool, kept at exit (default: a temporary one, removed)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	f.explicit = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.explicit[fl.Name] = true })
	logger, err := newLogger(stderr, "text", f.logLevel)
	if err != nil {
		return err
	}
	return runDev(ctx, f, hup, stdout, logger)
}

// runDev runs dev until ctx ends; a signal on hup reloads the --config file.
func runDev(ctx context.Context, f devFlags, hup <-chan os.Signal, stdout io.Writer, logger *slog.Logger) error {
	var notes []string
	if !f.explicit["kafka-port"] && !portFree(f.kafkaPort) {
		notes = append(notes, fmt.Sprintf("port %d is in use: the embedded broker took a free one", f.kafkaPort))
		f.kafkaPort = 0
	}
	if !f.explicit["streamsea-port"] && !portFree(f.streamseaPort) {
		notes = append(notes, fmt.Sprintf("port %d is in use: the emulator took a free one", f.streamseaPort))
		f.streamseaPort = 0
	}
	if _, port, err := net.SplitHostPort(f.http); err == nil && !f.explicit["http"] && !addrFree(f.http) {
		notes = append(notes, fmt.Sprintf("port %s is in use: the metrics server took a free one", port))
		f.http = "127.0.0.1:0"
	}
	broker, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.Ports(f.kafkaPort),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, net.JoinHostPort("127.0.0.1", strconv.Itoa(f.kafkaPort)))
		}),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(devTopicPartitions),
	)
	if err != nil {
		return fmt.Errorf("dev: start the embedded Kafka broker on 127.0.0.1:%d: %w", f.kafkaPort, err)
	}
	defer broker.Close()
	brokers := broker.ListenAddrs()

	emuAddr, err := devStreamseaAddr(f.streamseaPort)
	if err != nil {
		return err
	}
	emuURL := "http://" + emuAddr
	if f.config == "" && f.spoolDir == "" {
		if f.spoolDir, err = os.MkdirTemp("", "seabridge-dev-spool-"); err != nil {
			return fmt.Errorf("dev: spool directory: %w", err)
		}
		defer os.RemoveAll(f.spoolDir)
	}
	cfg, demo, err := devLoadConfig(f, brokers[0], emuURL)
	if err != nil {
		return err
	}
	topics := devTopicsOf(cfg, brokers)
	if err := createDevTopics(ctx, brokers[0], topics); err != nil {
		return err
	}

	emu, err := emulator.New(emulator.Options{
		Addr:    emuAddr,
		Clients: devClients(cfg, emuURL),
		Logger:  logger.With("component", "emulator"),
	})
	if err != nil {
		return fmt.Errorf("dev: emulator: %w", err)
	}
	if err := emu.Start(); err != nil {
		return fmt.Errorf("dev: start the stream-sea emulator: %w", err)
	}
	defer emu.Close()

	a, err := bridge.New(cfg, version, logger)
	if err != nil {
		return usageError{err}
	}
	defer writeDevState(devState{PID: os.Getpid(), Kafka: brokers[0], Streamsea: emu.URL()})()
	printDevBanner(stdout, cfg, a, brokers[0], emu.URL(), topics)
	for _, n := range notes {
		fmt.Fprintf(stdout, "  note: %s ('bridge tail' and 'bridge send' find it)\n", n)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var gen *loadGenerator
	if demo && f.rate > 0 {
		if gen, err = newLoadGenerator(brokers, emu.URL(), f.rate, logger.With("component", "loadgen")); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  load generator: %d msg/s each way once every pipeline is ready, 1 in %d a poison message (goes to seabridge.dlq)\n", f.rate, poisonEvery)
	}
	fmt.Fprintln(stdout)
	var reload func() (*config.Config, error) // nil for the embedded config: nothing to reload
	if !demo {
		reload = devReloader(runCtx, f, brokers, emuURL, topics, logger)
	}
	reloads := reloadOnHUP(runCtx, hup, a, logger, f.config, reload)
	var helpers sync.WaitGroup
	helpers.Go(func() { reportProgress(runCtx, stdout, f.progress, a, gen) })
	helpers.Go(func() {
		if !awaitReady(runCtx, a) {
			return
		}
		fmt.Fprintf(stdout, "%s  every pipeline is ready\n", time.Now().Format("15:04:05"))
		if gen != nil {
			gen.run(runCtx)
		}
	})
	err = a.Run(ctx)
	cancel()
	helpers.Wait()
	<-reloads
	return err
}

// devReloader returns the loader of a reload of the --config file: it loads it as at the
// start (pointed at the embedded servers), then creates the topics it names that the embedded
// broker does not have yet, before the reload starts any pipeline. created are the topics
// created at the start; each reload adds to them. Calls must not overlap (Reload serialises
// them).
func devReloader(ctx context.Context, f devFlags, brokers []string, streamseaURL string, created []string,
	logger *slog.Logger) func() (*config.Config, error) {
	return func() (*config.Config, error) {
		cfg, _, err := devLoadConfig(f, brokers[0], streamseaURL)
		if err != nil {
			return nil, err
		}
		var fresh []string
		for _, t := range devTopicsOf(cfg, brokers) {
			if !slices.Contains(created, t) {
				fresh = append(fresh, t)
			}
		}
		if err := createDevTopics(ctx, brokers[0], fresh); err != nil {
			return nil, err
		}
		if len(fresh) > 0 {
			created = append(created, fresh...)
			logger.Info("dev: created the topics the reloaded config names", "topics", fresh)
		}
		return cfg, nil
	}
}

// portFree reports whether 127.0.0.1:port can be listened on now (port 0 always can).
func portFree(port int) bool {
	return port == 0 || addrFree(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
}

func addrFree(addr string) bool {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// devStreamseaAddr is the emulator's address: 127.0.0.1:port, or with port 0 a port that was
// free a moment ago (the config is loaded with the emulator's URL before the emulator starts,
// so that it can accept the config's own credentials).
func devStreamseaAddr(port int) (string, error) {
	if port != 0 {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("dev: a free port for the stream-sea emulator: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// awaitReady waits until every pipeline of a is ready, polling; false when ctx ended first.
func awaitReady(ctx context.Context, a *bridge.App) bool {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		ready := true
		for _, s := range a.Stats() {
			ready = ready && s.Ready
		}
		if ready {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

func printDevBanner(out io.Writer, cfg *config.Config, a *bridge.App, broker, emuURL string, topics []string) {
	fmt.Fprintf(out, "seabridge dev\n  kafka (in-process kfake): %s\n", broker)
	if len(topics) > 0 {
		fmt.Fprintf(out, "    topics created: %s\n", strings.Join(topics, ", "))
	}
	fmt.Fprintf(out, "  stream-sea emulator:      %s (client %q, secret %q; stats at /emulator/stats)\n",
		emuURL, devClientID, devClientSecret)
	if addr := a.HTTPAddr(); addr != "" {
		fmt.Fprintf(out, "  metrics and health:       http://%s/metrics /livez /readyz /pipelines\n", addr)
	}
	for _, p := range cfg.Pipelines {
		if p.Enabled {
			spooled := ""
			if p.Spool.Enabled() {
				spooled = " (spool " + p.Spool.Dir + ")"
			}
			fmt.Fprintf(out, "  pipeline %-20s %s -> %s%s\n", p.Name, describeEndpoint(p.Source.Type, p.Source.Streams, p.Source.Topics),
				describeEndpoint(p.Sink.Type, []string{p.Sink.Stream}, []string{p.Sink.Topic}), spooled)
		}
	}
}

// devLoadConfig returns the embedded demo config, or the user's, pointed at the embedded
// servers. demo reports whether it is the embedded one. The user's config gets the emulator's
// credentials on its default stream-sea connection where it sets none.
func devLoadConfig(f devFlags, broker, streamseaURL string) (*config.Config, bool, error) {
	env := append(configEnviron(),
		"BRIDGE_KAFKA__DEFAULT__BROKERS="+broker,
		"BRIDGE_STREAMSEA__DEFAULT__URL="+streamseaURL,
		"BRIDGE_HTTP__LISTEN="+f.http,
	)
	if f.config == "" {
		cfg, err := config.LoadBytes(devConfig, env)
		if err != nil {
			return nil, false, fmt.Errorf("dev: embedded config: %w", err)
		}
		for i := range cfg.Pipelines {
			if sp := &cfg.Pipelines[i].Spool; sp.Enabled() && !filepath.IsAbs(sp.Dir) {
				sp.Dir = filepath.Join(f.spoolDir, sp.Dir)
			}
		}
		return cfg, true, nil
	}
	cfg, err := loadConfigEnv(f.config, append(env, devCredentialEnv(f.config, env)...))
	if err != nil {
		return nil, false, err
	}
	return cfg, false, nil
}

func describeEndpoint(t config.Endpoint, streams, topics []string) string {
	if t == config.EndpointStreamsea {
		return fmt.Sprintf("stream-sea %v", streams)
	}
	return fmt.Sprintf("kafka %v", topics)
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/seabridge/seabridge/internal/config"
	"github.com/seabridge/seabridge/internal/inspect"
)

// peerFlags choose the servers `bridge tail` and `bridge send` talk to: a config's named
// connection, or the servers of `bridge dev`.
type peerFlags struct {
	config     string
	connection string
}

func (p *peerFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.config, "config", "", "use a connection of this config file (TOML, with its BRIDGE_* overrides) instead of the bridge dev servers")
	fs.StringVar(&p.connection, "connection", config.DefaultConnection, "with --config: the name of the [kafka.NAME] or [streamsea.NAME] connection")
}

// peersHelp describes peerFlags in a command's help.
const peersHelp = `Without --config it talks to the servers of a running 'bridge dev' (found through its record
in the user cache directory, whatever ports it got), else to Kafka at 127.0.0.1:9092 and
stream-sea at http://127.0.0.1:3104 with the emulator's client "bridge" / "bridge-secret".
With --config it uses the config's connection named by --connection (default "default"),
with its TLS, SASL and credentials.`

// load returns the config whose connections to use, and a hint to add to connection errors.
func (p peerFlags) load() (*config.Config, string, error) {
	if p.config != "" {
		cfg, err := loadConfigEnv(p.config, configEnviron())
		if err != nil {
			return nil, "", err
		}
		return cfg, "", nil
	}
	if p.connection != config.DefaultConnection {
		return nil, "", usageError{errors.New("--connection needs --config")}
	}
	cfg := config.Default()
	ss := cfg.Streamsea[config.DefaultConnection]
	ss.ClientID, ss.ClientSecret = devClientID, devClientSecret
	hint := "no --config: the bridge dev servers; is 'bridge dev' running?"
	if st, ok := readDevState(); ok {
		ss.URL = st.Streamsea
		k := cfg.Kafka[config.DefaultConnection]
		k.Brokers = []string{st.Kafka}
		cfg.Kafka[config.DefaultConnection] = k
		hint = fmt.Sprintf("no --config: the servers of bridge dev, process %d", st.PID)
	}
	cfg.Streamsea[config.DefaultConnection] = ss
	return cfg, hint, nil
}

// withHint adds hint to err, when there is one and err is not the input's fault.
func withHint(err error, hint string) error {
	var input *inspect.InputError
	if err == nil || hint == "" || errors.As(err, &input) {
		return err
	}
	return fmt.Errorf("%w (%s)", err, hint)
}

// parseInterspersed parses flags that may come before, between and after the positional
// arguments (`bridge tail kafka TOPIC -n 1`), and returns the positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// systemArg checks the first argument of tail and send: kafka or streamsea.
func systemArg(cmd string, pos []string) (system, name string, err error) {
	if len(pos) != 2 || (pos[0] != "kafka" && pos[0] != "streamsea") {
		return "", "", usageError{fmt.Errorf("%s: want 'kafka TOPIC' or 'streamsea STREAM', not %q", cmd, strings.Join(pos, " "))}
	}
	return pos[0], pos[1], nil
}

package deploy

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v4"

	"github.com/seabridge/seabridge/internal/config"

	"github.com/seabridge/seabridge/internal/testkit/deploycheck"
)

// loadCompose loads docker-compose.yml with the compose specification's loader, which
// validates it against the specification's JSON schema, with the repository as project dir.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{deploycheck.RepoPath(t, "docker-compose.yml")},
		cli.WithWorkingDirectory(deploycheck.RepoPath(t, ".")))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	project, err := opts.LoadProject(ctx)
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return project
}

// composeV1TopLevel are the top-level keys Compose v1 (Debian's docker-compose 1.29) accepts
// besides x-* extensions; it rejects "name", which only Compose v2 knows.
var composeV1TopLevel = []string{"version", "services", "networks", "volumes", "configs", "secrets"}

// TestComposeV1TopLevelKeys keeps the file loadable by Compose v1 too (scripts/test.sh deploy
// also runs its docker-compose config).
func TestComposeV1TopLevelKeys(t *testing.T) {
	var top map[string]any
	if err := yaml.Unmarshal(deploycheck.ReadFile(t, "docker-compose.yml"), &top); err != nil {
		t.Fatal(err)
	}
	for key := range top {
		if !strings.HasPrefix(key, "x-") && !slices.Contains(composeV1TopLevel, key) {
			t.Errorf("docker-compose.yml: top-level %q is rejected by Compose v1 (docker-compose 1.29)", key)
		}
	}
}

// TestComposeBridgeImageBuilt: every service that runs the image built from the Dockerfile
// builds it, so that any one of them can be started, pulled or rebuilt alone.
func TestComposeBridgeImageBuilt(t *testing.T) {
	p := loadCompose(t)
	built := builtImages(p)
	for name, s := range p.Services {
		if built[s.Image] && s.Build == nil {
			t.Errorf("service %s runs %s, built by another service, without a build of its own", name, s.Image)
		}
	}
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, ok := p.Services[name]
	if !ok {
		t.Fatalf("docker-compose.yml has no service %q", name)
	}
	return s
}

func TestComposeLoads(t *testing.T) {
	p := loadCompose(t)
	for _, name := range []string{"kafka", "kafka-topics", "streamsea", "prometheus", "grafana"} {
		service(t, p, name)
	}
	if n := len(bridgeServices(t, p)); n < 2 {
		t.Errorf("docker-compose.yml runs %d bridge instances, want at least two sharing the pipelines", n)
	}
}

// bridgeAlias is the network name every bridge instance answers to.
const bridgeAlias = "bridge"

// bridgeServices are the services that run the bridge (the built image, command run), by name.
func bridgeServices(t *testing.T, p *types.Project) []types.ServiceConfig {
	t.Helper()
	built := builtImages(p)
	var out []types.ServiceConfig
	for _, s := range p.Services {
		if (s.Build != nil || built[s.Image]) && len(s.Command) > 0 && s.Command[0] == "run" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		t.Fatal("docker-compose.yml has no service running the bridge (command run)")
	}
	slices.SortFunc(out, func(a, b types.ServiceConfig) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func TestComposeHostPathsExist(t *testing.T) {
	for name, s := range loadCompose(t).Services {
		if s.Build != nil {
			dockerfile := s.Build.Dockerfile
			if dockerfile == "" {
				dockerfile = "Dockerfile"
			}
			if !filepath.IsAbs(dockerfile) {
				dockerfile = filepath.Join(s.Build.Context, dockerfile)
			}
			if _, err := os.Stat(dockerfile); err != nil {
				t.Errorf("service %s: build: %v", name, err)
			}
		}
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("service %s: volume %s:%s: %v", name, v.Source, v.Target, err)
			}
		}
	}
}

var versionTag = regexp.MustCompile(`^v?[0-9]+(\.[0-9]+)+`)

// builtImages lists the images that services of p build, which other services may run.
func builtImages(p *types.Project) map[string]bool {
	built := map[string]bool{}
	for _, s := range p.Services {
		if s.Build != nil && s.Image != "" {
			built[s.Image] = true
		}
	}
	return built
}

func TestComposeImagesPinned(t *testing.T) {
	p := loadCompose(t)
	built := builtImages(p)
	for name, s := range p.Services {
		if problem := imageProblem(s.Image, s.Build != nil || built[s.Image]); problem != "" {
			t.Errorf("service %s: %s", name, problem)
		}
	}
	tests := []struct {
		image string
		built bool
		bad   bool
	}{
		{"apache/kafka:4.1.0", false, false},
		{"prom/prometheus:v3.5.0", false, false},
		{"registry:5000/team/img:1.2", false, false},
		{"seabridge:local", true, false},
		{"apache/kafka", false, true},
		{"apache/kafka:latest", false, true},
		{"seabridge:latest", true, true},
		{"grafana/grafana:main", false, true},
		{"registry:5000/img", false, true},
	}
	for _, tt := range tests {
		if got := imageProblem(tt.image, tt.built); (got != "") != tt.bad {
			t.Errorf("imageProblem(%q, %v) = %q, want a problem: %v", tt.image, tt.built, got, tt.bad)
		}
	}
}

// imageProblem says why image is not pinned: no tag, "latest", or (for a pulled image) a tag
// that is not a version. An image built by the compose file only needs a tag other than latest.
func imageProblem(image string, built bool) string {
	if image == "" {
		if built {
			return ""
		}
		return "no image"
	}
	name := image[strings.LastIndex(image, "/")+1:]
	_, tag, ok := strings.Cut(name, ":")
	switch {
	case strings.Contains(image, "@sha256:"):
		return ""
	case !ok || tag == "":
		return "image " + image + " has no tag"
	case tag == "latest":
		return "image " + image + " uses :latest"
	case !built && !versionTag.MatchString(tag):
		return "image " + image + ": tag " + tag + " is not a version"
	}
	return ""
}

// TestComposeHealthchecksRunInTheImage: services built from the Dockerfile run a distroless
// image with no shell and no HTTP client, so a healthcheck can only exec the bridge itself,
// and "version" or "help" would check nothing.
func TestComposeHealthchecksRunInTheImage(t *testing.T) {
	cmds := deploycheck.BridgeCommands(t)
	p := loadCompose(t)
	built := builtImages(p)
	for name, s := range p.Services {
		if (s.Build == nil && !built[s.Image]) || s.HealthCheck == nil || s.HealthCheck.Disable {
			continue
		}
		test := s.HealthCheck.Test
		switch {
		case len(test) < 3 || test[0] != "CMD" || test[1] != "/usr/local/bin/bridge":
			t.Errorf("service %s: healthcheck %q: the distroless image can only run [\"CMD\", \"/usr/local/bin/bridge\", ...]", name, test)
		case test[2] == "version" || test[2] == "help":
			t.Errorf("service %s: healthcheck %q checks nothing", name, test)
		default:
			if _, problems := cmds.Check(test[2:]); len(problems) > 0 {
				t.Errorf("service %s: healthcheck %q: %v", name, test, problems)
			}
		}
	}
}

func TestComposeCommandsAreBridgeCommands(t *testing.T) {
	cmds := deploycheck.BridgeCommands(t)
	p := loadCompose(t)
	built := builtImages(p)
	if len(built) == 0 {
		t.Fatal("no service builds the bridge image")
	}
	for name, s := range p.Services {
		if s.Build == nil && !built[s.Image] {
			continue
		}
		if _, problems := cmds.Check(s.Command); len(problems) > 0 {
			t.Errorf("service %s: command %q: %v", name, s.Command, problems)
		}
	}
}

// composeBridgeConfig loads the config file the first bridge service mounts, with the
// service's environment, as the bridge in the container would.
func composeBridgeConfig(t *testing.T, p *types.Project, extraEnv ...string) (*config.Config, error) {
	t.Helper()
	return serviceBridgeConfig(t, bridgeServices(t, p)[0], extraEnv...)
}

func serviceBridgeConfig(t *testing.T, s types.ServiceConfig, extraEnv ...string) (*config.Config, error) {
	t.Helper()
	flags, problems := deploycheck.BridgeCommands(t).Check(s.Command)
	if len(problems) > 0 || s.Command[0] != "run" {
		t.Fatalf("service %s: command %q: want run --config FILE; %v", s.Name, s.Command, problems)
	}
	path := mountedSource(s, flags["config"])
	if path == "" {
		t.Fatalf("service %s: --config %q is not a file mounted into the container", s.Name, flags["config"])
	}
	if path != deploycheck.RepoPath(t, "deploy/bridge.toml") {
		t.Errorf("service %s mounts %s as its config, want deploy/bridge.toml", s.Name, path)
	}
	return config.Load(path, append(serviceEnv(s), extraEnv...))
}

// mountedSource returns the host path of the bind mount at target, or "".
func mountedSource(s types.ServiceConfig, target string) string {
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeBind && v.Target == target {
			return v.Source
		}
	}
	return ""
}

func serviceEnv(s types.ServiceConfig) []string {
	var env []string
	for k, v := range s.Environment {
		if v != nil {
			env = append(env, k+"="+*v)
		}
	}
	sort.Strings(env)
	return env
}

func TestComposeBridgeConfigLoads(t *testing.T) {
	p := loadCompose(t)
	for _, s := range bridgeServices(t, p) {
		cfg, err := serviceBridgeConfig(t, s)
		if err != nil {
			t.Fatalf("service %s: deploy/bridge.toml with the compose environment: %v", s.Name, err)
		}
		for _, kv := range serviceEnv(s) {
			if !strings.HasPrefix(kv, "BRIDGE_") {
				t.Errorf("service %s: environment %s is not a config override", s.Name, kv)
			}
		}
		// A stop drains within shutdown_timeout, closes within as long again, and the HTTP
		// server takes up to 5 s (docs/operations.md); 10 s leaves a margin.
		if min := 2*cfg.Bridge.ShutdownTimeout + 10*time.Second; s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) < min {
			t.Errorf("service %s: stop_grace_period %v must be at least 2 × bridge.shutdown_timeout (%v) + 10s = %v",
				s.Name, s.StopGracePeriod, cfg.Bridge.ShutdownTimeout, min)
		}
		if host, _, _ := net.SplitHostPort(cfg.HTTP.Listen); host != "0.0.0.0" && host != "" {
			t.Errorf("service %s: http.listen %q is not reachable from Prometheus", s.Name, cfg.HTTP.Listen)
		}
		if len(cfg.Pipelines) != 2 {
			t.Errorf("deploy/bridge.toml: %d pipelines, want one each way", len(cfg.Pipelines))
		}
		if n := s.Deploy; n != nil && n.Replicas != nil && *n.Replicas != 1 {
			t.Errorf("service %s: %d replicas would share its spool volume: one instance a service", s.Name, *n.Replicas)
		}
		if !hasAlias(s, bridgeAlias) {
			t.Errorf("service %s: no network alias %q, the name Prometheus finds the instances by", s.Name, bridgeAlias)
		}
	}
	// The instances are copies (x-bridge): only their volumes differ.
	services := bridgeServices(t, p)
	for _, s := range services[1:] {
		first := services[0]
		if !slices.Equal(serviceEnv(s), serviceEnv(first)) || !slices.Equal(s.Command, first.Command) || s.Image != first.Image {
			t.Errorf("service %s differs from %s in its environment, command or image", s.Name, first.Name)
		}
	}
}

func hasAlias(s types.ServiceConfig, alias string) bool {
	for _, n := range s.Networks {
		if n != nil && slices.Contains(n.Aliases, alias) {
			return true
		}
	}
	return false
}

// TestComposeSpools: every stream-sea -> Kafka pipeline of every bridge instance spools in a
// directory of its own under a named volume that instance alone mounts (two processes never
// share a spool; a named volume outlives the container).
func TestComposeSpools(t *testing.T) {
	p := loadCompose(t)
	owner := map[string]string{} // volume -> the service that mounts it
	for _, s := range bridgeServices(t, p) {
		cfg, err := serviceBridgeConfig(t, s)
		if err != nil {
			t.Fatal(err)
		}
		spooled := 0
		for _, pl := range cfg.Pipelines {
			if pl.Source.Type != config.EndpointStreamsea || pl.Sink.Type != config.EndpointKafka {
				continue
			}
			if !pl.Spool.Enabled() {
				t.Errorf("service %s: pipeline %s has no spool", s.Name, pl.Name)
				continue
			}
			v, ok := volumeUnder(s, pl.Spool.Dir)
			switch {
			case !ok:
				t.Errorf("service %s: pipeline %s: spool.dir %s is on no volume of the service", s.Name, pl.Name, pl.Spool.Dir)
			case v.Type != types.VolumeTypeVolume || p.Volumes[v.Source].Name == "":
				t.Errorf("service %s: pipeline %s: spool.dir %s is on %s %s, want a named volume of the compose file", s.Name, pl.Name, pl.Spool.Dir, v.Type, v.Source)
			case v.ReadOnly:
				t.Errorf("service %s: volume %s is read-only", s.Name, v.Source)
			case owner[v.Source] != "" && owner[v.Source] != s.Name:
				t.Errorf("service %s: volume %s is %s's too: two processes must not share a spool", s.Name, v.Source, owner[v.Source])
			default:
				owner[v.Source] = s.Name
				spooled++
			}
		}
		if spooled == 0 {
			t.Errorf("service %s spools no pipeline", s.Name)
		}
	}
}

// volumeUnder returns the volume of s mounted at a parent of dir (not dir itself).
func volumeUnder(s types.ServiceConfig, dir string) (types.ServiceVolumeConfig, bool) {
	for _, v := range s.Volumes {
		if strings.HasPrefix(filepath.Clean(dir), strings.TrimSuffix(v.Target, "/")+"/") {
			return v, true
		}
	}
	return types.ServiceVolumeConfig{}, false
}

// TestComposeBridgeEnvRejectsUnknownKeys shows that loading with the compose environment
// checks its keys: a misspelt override fails.
func TestComposeBridgeEnvRejectsUnknownKeys(t *testing.T) {
	if _, err := composeBridgeConfig(t, loadCompose(t), "BRIDGE_HTTP__LISTNE=0.0.0.0:1"); err == nil {
		t.Fatal("BRIDGE_HTTP__LISTNE was accepted")
	}
}

var topicLoop = regexp.MustCompile(`for t in ([^;]+); do`)

// TestComposeWiring checks that the services the bridge is pointed at exist and agree with it:
// the emulator's address and credentials, the Kafka service, and the topics created for it.
func TestComposeWiring(t *testing.T) {
	p := loadCompose(t)
	cfg, err := composeBridgeConfig(t, p)
	if err != nil {
		t.Fatal(err)
	}
	emu := service(t, p, "streamsea")
	flags, problems := deploycheck.BridgeCommands(t).Check(emu.Command)
	if len(problems) > 0 || emu.Command[0] != "emulator" {
		t.Fatalf("streamsea service: command %q: %v", emu.Command, problems)
	}
	ss := cfg.Streamsea[config.DefaultConnection]
	u, err := url.Parse(ss.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, listenPort, _ := net.SplitHostPort(flags["listen"])
	if u.Hostname() != "streamsea" || u.Port() != listenPort {
		t.Errorf("stream-sea url %s does not reach the streamsea service listening on %q", ss.URL, flags["listen"])
	}
	if ss.ClientID != flags["client-id"] || ss.ClientSecret.Value() != flags["client-secret"] {
		t.Errorf("stream-sea credentials %q differ from the emulator's --client-id/--client-secret", ss.ClientID)
	}
	for _, b := range cfg.Kafka[config.DefaultConnection].Brokers {
		host, port, _ := net.SplitHostPort(b)
		if _, ok := p.Services[host]; !ok {
			t.Errorf("kafka broker %s is not a compose service", b)
		}
		if !strings.Contains(*service(t, p, "kafka").Environment["KAFKA_LISTENERS"], ":"+port) {
			t.Errorf("kafka broker %s: no listener on port %s", b, port)
		}
	}
	script := strings.Join(service(t, p, "kafka-topics").Command, " ")
	m := topicLoop.FindStringSubmatch(script)
	if m == nil {
		t.Fatalf("kafka-topics service: no topic loop in %q", script)
	}
	created := strings.Fields(m[1])
	for _, topic := range configTopics(cfg) {
		if !slices.Contains(created, topic) {
			t.Errorf("topic %q of deploy/bridge.toml is not created by kafka-topics (%v)", topic, created)
		}
	}
}

func configTopics(cfg *config.Config) []string {
	var topics []string
	for _, pl := range cfg.Pipelines {
		topics = append(topics, pl.Source.Topics...)
		if pl.Sink.Topic != "" {
			topics = append(topics, pl.Sink.Topic)
		}
		if pl.DeadLetter.Policy == config.PolicyDLQ {
			topics = append(topics, pl.DeadLetter.Topic)
		}
	}
	return topics
}

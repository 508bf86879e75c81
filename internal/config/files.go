package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/seabridge/seabridge/internal/streamsea"
)

// resolveFiles makes file paths absolute against baseDir (when set), reads *_file secrets and
// schema files into their values, and enables TLS for https stream-sea URLs.
func resolveFiles(cfg *Config, baseDir string, errs *Errors) {
	for _, name := range sortedKeys(cfg.Streamsea) {
		c := cfg.Streamsea[name]
		path := fmt.Sprintf("streamsea[%q]", name)
		readSecret(&c.ClientSecret, &c.ClientSecretFile, baseDir, path+".client_secret", errs)
		readSecret(&c.JWT, &c.JWTFile, baseDir, path+".jwt", errs)
		if msg := jwtKeyConflict(c); msg != "" {
			errs.add(path+".jwt_private_key_file", msg)
		} else {
			readKeyFile(&c.JWTPrivateKey, &c.JWTPrivateKeyFile, baseDir, path+".jwt_private_key_file", errs)
		}
		resolveTLS(&c.TLS, baseDir)
		if strings.HasPrefix(strings.ToLower(c.URL), "https:") {
			c.TLS.Enabled = true
		}
		cfg.Streamsea[name] = c
	}
	for _, name := range sortedKeys(cfg.Kafka) {
		c := cfg.Kafka[name]
		path := fmt.Sprintf("kafka[%q]", name)
		readSecret(&c.SASL.Password, &c.SASL.PasswordFile, baseDir, path+".sasl.password", errs)
		resolveTLS(&c.TLS, baseDir)
		cfg.Kafka[name] = c
	}
	for i := range cfg.Pipelines {
		p := &cfg.Pipelines[i]
		readSchema(&p.Sink, baseDir, p.path(i)+".sink.schema", errs)
		resolvePath(&p.Spool.Dir, baseDir)
	}
}

func resolvePath(p *string, baseDir string) {
	if *p != "" && baseDir != "" && !filepath.IsAbs(*p) {
		*p = filepath.Join(baseDir, *p)
	}
}

func resolveTLS(t *TLS, baseDir string) {
	resolvePath(&t.CAFile, baseDir)
	resolvePath(&t.CertFile, baseDir)
	resolvePath(&t.KeyFile, baseDir)
}

// readSecret fills value from *file. Setting both is an error; so is an empty file.
func readSecret(value *Secret, file *string, baseDir, path string, errs *Errors) {
	if *file == "" {
		return
	}
	key := path[strings.LastIndexByte(path, '.')+1:]
	if *value != "" {
		errs.add(path, fmt.Sprintf("set either %s or %s_file, not both", key, key))
		return
	}
	resolvePath(file, baseDir)
	b, err := os.ReadFile(*file)
	if err != nil {
		errs.add(path+"_file", err.Error())
		return
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		errs.add(path+"_file", fmt.Sprintf("%s is empty", *file))
		return
	}
	*value = Secret(s)
}

// readKeyFile fills key from *file, a key that has no inline form. An empty file is an error.
func readKeyFile(key *Secret, file *string, baseDir, path string, errs *Errors) {
	if *file == "" {
		return
	}
	resolvePath(file, baseDir)
	b, err := os.ReadFile(*file)
	if err != nil {
		errs.add(path, err.Error())
		return
	}
	if strings.TrimSpace(string(b)) == "" {
		errs.add(path, fmt.Sprintf("%s is empty", *file))
		return
	}
	*key = Secret(b)
}

// readSchema fills sink.Schema from sink.SchemaFile, a JSON schema definition in wire form
// that must pass streamsea's schema checks.
func readSchema(sink *Sink, baseDir, path string, errs *Errors) {
	if sink.SchemaFile == "" {
		return
	}
	if sink.Schema != nil {
		errs.add(path, "set either schema or schema_file, not both")
		return
	}
	resolvePath(&sink.SchemaFile, baseDir)
	b, err := os.ReadFile(sink.SchemaFile)
	if err != nil {
		errs.add(path+"_file", err.Error())
		return
	}
	s, err := streamsea.ParseSchema(b)
	for _, problem := range schemaProblems(err) {
		errs.add(path+"_file", fmt.Sprintf("%s: %s", sink.SchemaFile, problem))
	}
	if err == nil {
		sink.Schema = s
	}
}

package config

import (
	"fmt"
	"sort"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// decode builds a Config from the merged file and environment, section by section, so that
// every error names its section, connection or pipeline. Each section is decoded over its
// defaults.
func decode(raw map[string]any, overrides []override, errs *Errors) (*Config, []origin) {
	cfg := Default()
	for _, key := range sortedKeys(raw) {
		switch key {
		case "bridge":
			decodeTable(raw[key], "bridge", &cfg.Bridge, errs)
		case "http":
			decodeTable(raw[key], "http", &cfg.HTTP, errs)
		case "streamsea":
			decodeNamed(raw[key], "streamsea", cfg.Streamsea, DefaultStreamsea, errs)
		case "kafka":
			decodeNamed(raw[key], "kafka", cfg.Kafka, DefaultKafka, errs)
		case "pipelines":
		default:
			errs.add(key, "unknown key")
		}
	}
	var origins []origin
	cfg.Pipelines, origins = decodePipelines(raw["pipelines"], overrides, errs)
	return cfg, origins
}

func decodeTable(v any, path string, out any, errs *Errors) {
	table, ok := v.(map[string]any)
	if !ok {
		errs.add(path, fmt.Sprintf("must be a table, not %s", describe(v)))
		return
	}
	unmarshal(table, path, out, errs)
}

// decodeNamed decodes [section.NAME] tables into dst, each over fresh defaults.
func decodeNamed[T any](v any, section string, dst map[string]T, defaults func() T, errs *Errors) {
	tables, ok := v.(map[string]any)
	if !ok {
		errs.add(section, fmt.Sprintf("must hold named tables such as [%s.default], not %s", section, describe(v)))
		return
	}
	for _, name := range sortedKeys(tables) {
		path := fmt.Sprintf("%s[%q]", section, name)
		table, ok := tables[name].(map[string]any)
		if !ok {
			errs.add(path, fmt.Sprintf("must be a table: connections are named, as in [%s.default]", section))
			continue
		}
		conn := defaults()
		unmarshal(table, path, &conn, errs)
		dst[name] = conn
	}
}

// decodePipelines decodes [[pipelines]] with the overrides applied, and returns where each
// override landed.
func decodePipelines(v any, overrides []override, errs *Errors) ([]Pipeline, []origin) {
	var items []any
	switch v := v.(type) {
	case nil:
	case []any:
		items = v
	case []map[string]any:
		for _, m := range v {
			items = append(items, m)
		}
	default:
		errs.add("pipelines", fmt.Sprintf("must be an array of tables ([[pipelines]]), not %s", describe(v)))
		return nil, nil
	}
	tables := make([]map[string]any, 0, len(items))
	for i, item := range items {
		table, ok := item.(map[string]any)
		if !ok {
			errs.add(fmt.Sprintf("pipelines[%d]", i), "must be a table ([[pipelines]])")
			continue
		}
		tables = append(tables, table)
	}
	origins := applyOverrides(tables, overrides, errs)
	out := make([]Pipeline, 0, len(tables))
	for i, table := range tables {
		out = append(out, decodePipeline(table, i, errs))
	}
	return out, origins
}

// pipelinePath names a pipeline in error paths: by name when it has one, else by position.
func pipelinePath(table map[string]any, index int) string {
	if name, ok := table["name"].(string); ok && name != "" {
		return fmt.Sprintf("pipelines[%q]", name)
	}
	return fmt.Sprintf("pipelines[%d]", index)
}

func decodePipeline(table map[string]any, index int, errs *Errors) Pipeline {
	p := DefaultPipeline(endpointOf(table, "source"), endpointOf(table, "sink"))
	unmarshal(table, pipelinePath(table, index), &p, errs)
	return p
}

// endpointOf reads source.type or sink.type before decoding, to pick that type's defaults.
func endpointOf(table map[string]any, section string) Endpoint {
	sub, _ := table[section].(map[string]any)
	t, _ := sub["type"].(string)
	return Endpoint(t)
}

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, int, float64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a datetime"
	case toml.LocalDateTime:
		return "a local datetime"
	case toml.LocalDate:
		return "a local date"
	case toml.LocalTime:
		return "a local time"
	default:
		return fmt.Sprintf("%T", v)
	}
}

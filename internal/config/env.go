package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Environment overrides: BRIDGE_HTTP__LISTEN sets http.listen. Levels are separated by "__";
// key names are matched in lower case. Connection and pipeline names are matched by
// matchName, so that a shell can set a variable for a name such as "boiler-to-kafka".
const (
	envPrefix   = "BRIDGE_"
	envLevelSep = "__"
)

// envVar is one BRIDGE_ variable, split into its levels as written (after the prefix).
type envVar struct {
	name   string
	levels []string
	value  string
}

// bridgeVars returns the BRIDGE_ variables of environ (in os.Environ form), sorted by name.
func bridgeVars(environ []string) []envVar {
	var out []envVar
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, envPrefix) {
			continue
		}
		out = append(out, envVar{name: name, value: value,
			levels: strings.Split(strings.TrimPrefix(name, envPrefix), envLevelSep)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// envName is the form in which a variable level matches a connection or pipeline name: lower
// case, with '-' and '.' as '_', since shells allow only letters, digits and '_' in names.
func envName(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', '.':
			return '_'
		}
		return r
	}, strings.ToLower(s))
}

// EnvLevelNames reports whether a variable level (the text between two "__" of a BRIDGE_
// variable) addresses the connection or pipeline called name, as the loader matches them:
// equal, or equal with '-' and '.' as '_' in any case. A program that passes BRIDGE_
// variables on to a bridge for some configs uses it to pick those that apply.
func EnvLevelNames(level, name string) bool {
	return level == name || envName(level) == envName(name)
}

// matchName returns the names that the variable level addresses: the name equal to it when
// there is one, else every name whose envName equals the level's. More than one is ambiguous.
func matchName(level string, names []string) []string {
	for _, n := range names {
		if n == level {
			return []string{n}
		}
	}
	var out []string
	for _, n := range names {
		if envName(n) == envName(level) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// ambiguous is the message for a variable that matches several names.
func ambiguous(variable, what string, names []string) string {
	return fmt.Sprintf("%s matches more than one %s: %s (names match with '-' and '.' as '_', in any case); rename one, or set the variable with the exact name",
		variable, what, quoteAll(names))
}

// origin records which variable set which key, as an error path.
type origin struct {
	variable string
	path     string
}

// envOverrides turns the variables outside [[pipelines]] into a nested table to merge over
// the file's. Connection levels resolve against the connections named in the file (raw) or
// by default; a level that matches none names a new connection, in lower case.
func envOverrides(vars []envVar, raw map[string]any, errs *Errors) (map[string]any, []origin) {
	tree := map[string]any{}
	var origins []origin
	for _, v := range vars {
		section := strings.ToLower(v.levels[0])
		if section == "pipelines" {
			continue
		}
		keys := make([]string, len(v.levels))
		for i, l := range v.levels {
			keys[i] = strings.ToLower(l)
		}
		path := strings.Join(keys, ".")
		if (section == "streamsea" || section == "kafka") && len(keys) > 1 {
			names := []string{DefaultConnection}
			if tables, ok := raw[section].(map[string]any); ok {
				for _, n := range sortedKeys(tables) {
					if n != DefaultConnection {
						names = append(names, n)
					}
				}
			}
			switch matched := matchName(v.levels[1], names); len(matched) {
			case 0:
			case 1:
				keys[1] = matched[0]
			default:
				errs.add(section, ambiguous(v.name, "connection", matched))
				continue
			}
			path = fmt.Sprintf("%s[%q]", section, keys[1])
			if len(keys) > 2 {
				path += "." + strings.Join(keys[2:], ".")
			}
		}
		if err := setNested(tree, keys, v.value); err != nil {
			errs.add(v.name, err.Error())
			continue
		}
		origins = append(origins, origin{variable: v.name, path: path})
	}
	return tree, origins
}

// override is one BRIDGE_PIPELINES__<name>__<key...>=value variable.
type override struct {
	variable string
	pipeline string
	keys     []string
	value    string
}

func pipelineOverrides(vars []envVar) []override {
	var out []override
	for _, v := range vars {
		if !strings.EqualFold(v.levels[0], "pipelines") {
			continue
		}
		o := override{variable: v.name, value: v.value}
		if len(v.levels) > 1 {
			o.pipeline = v.levels[1]
		}
		for _, l := range v.levels[min(2, len(v.levels)):] {
			o.keys = append(o.keys, strings.ToLower(l))
		}
		out = append(out, o)
	}
	return out
}

// applyOverrides sets BRIDGE_PIPELINES__<name>__<key...> values inside the pipeline table
// that matchName finds for <name>, and returns where each variable landed.
func applyOverrides(tables []map[string]any, overrides []override, errs *Errors) []origin {
	names := make([]string, 0, len(tables))
	byName := map[string]map[string]any{}
	for _, t := range tables {
		if name, ok := t["name"].(string); ok {
			names = append(names, name)
			byName[name] = t
		}
	}
	var origins []origin
	for _, o := range overrides {
		if o.pipeline == "" || len(o.keys) == 0 {
			errs.add(o.variable, "must name a pipeline and a key: BRIDGE_PIPELINES__<name>__<key>")
			continue
		}
		matched := matchName(o.pipeline, names)
		switch len(matched) {
		case 0:
			errs.add(fmt.Sprintf("pipelines[%q]", o.pipeline),
				fmt.Sprintf("no pipeline has this name, or one that matches it with '-' and '.' as '_' in any case (set by %s)", o.variable))
			continue
		case 1:
		default:
			errs.add("pipelines", ambiguous(o.variable, "pipeline", matched))
			continue
		}
		path := fmt.Sprintf("pipelines[%q]", matched[0])
		if err := setNested(byName[matched[0]], o.keys, o.value); err != nil {
			errs.add(path, fmt.Sprintf("%s: %v", o.variable, err))
			continue
		}
		origins = append(origins, origin{variable: o.variable, path: path + "." + strings.Join(o.keys, ".")})
	}
	return origins
}

// setNested sets keys (a path of table names, then a key) in table to value.
func setNested(table map[string]any, keys []string, value string) error {
	for i, key := range keys[:len(keys)-1] {
		next, exists := table[key]
		if !exists {
			sub := map[string]any{}
			table[key] = sub
			table = sub
			continue
		}
		sub, ok := next.(map[string]any)
		if !ok {
			return fmt.Errorf("%s is not a table", strings.Join(keys[:i+1], "."))
		}
		table = sub
	}
	table[keys[len(keys)-1]] = value
	return nil
}

// nameVariables appends " (set by VAR)" to every problem at, above or below a key that a
// variable set, unless the message names the variable already.
func nameVariables(errs *Errors, origins []origin) {
	for i, f := range errs.Fields {
		var vars []string
		for _, o := range origins {
			if related(f.Path, o.path) && !strings.Contains(f.Msg, o.variable) && !slices.Contains(vars, o.variable) {
				vars = append(vars, o.variable)
			}
		}
		if len(vars) > 0 {
			errs.Fields[i].Msg += " (set by " + strings.Join(vars, ", ") + ")"
		}
	}
}

// related reports whether one error path is the other or lies inside it.
func related(a, b string) bool {
	inside := func(x, y string) bool {
		return strings.HasPrefix(x, y+".") || strings.HasPrefix(x, y+"[")
	}
	return a == b || inside(a, b) || inside(b, a)
}

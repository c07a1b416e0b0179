package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts every environment variable that overrides a configuration key.
const EnvPrefix = "VERDICT_"

// Override sets one key from a flag or an environment variable. Path is the key's YAML path
// joined with dots (server.addr); Value is read as YAML, so lists and maps can be given inline,
// except that a list of strings may also be given comma-separated (a,b), as a Kubernetes
// Secret holds it.
type Override struct {
	Path  string
	Value string
}

// Load builds a configuration: the YAML document (may be nil), then the overrides in order
// (environment first, flags last), then defaults for whatever is still unset. Unknown keys are
// errors. Load does not validate; call Validate.
func Load(file io.Reader, overrides []Override) (Config, error) {
	var c Config
	var decodeErr error
	if file != nil {
		var doc yaml.Node
		if err := yaml.NewDecoder(file).Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
			return Config{}, fmt.Errorf("config file: %w", err)
		}
		if problems := checkNode(&doc, reflect.TypeOf(c), ""); len(problems) > 0 {
			decodeErr = &DecodeError{Errs: problems}
		}
		// What checkNode refused is left unset; the rest is decoded so that Validate can still
		// report the problems of the other keys.
		_ = doc.Decode(&c)
	}
	for _, o := range overrides {
		if err := c.set(o.Path, o.Value); err != nil {
			return Config{}, err
		}
	}
	c.SetDefaults()
	return c, decodeErr
}

// DecodeError lists every unknown key and every value of the wrong type in a configuration
// file. Load returns it together with the configuration decoded as far as possible, with
// defaults, so that a checker can report the other problems too.
type DecodeError struct {
	Errs []error
}

func (e *DecodeError) Error() string { return "config file: " + errors.Join(e.Errs...).Error() }

// Unwrap gives the problems one by one.
func (e *DecodeError) Unwrap() []error { return e.Errs }

// checkNode compares a YAML node with the Go type it is decoded into and describes, by key
// path, each key that names no field and each value that does not fit its field.
func checkNode(n *yaml.Node, t reflect.Type, path string) []error {
	for n.Kind == yaml.DocumentNode || n.Kind == yaml.AliasNode {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else if len(n.Content) == 0 {
			return nil
		} else {
			n = n.Content[0]
		}
	}
	if n.Tag == "!!null" {
		return nil
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct && t != reflect.TypeOf(time.Duration(0)):
		if n.Kind != yaml.MappingNode {
			return []error{fmt.Errorf("%s: expected a map of keys (key: value), found %s", keyName(path), describe(n))}
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			if name := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]; name != "" && name != "-" {
				fields[name] = t.Field(i).Type
			}
		}
		var errs []error
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, value := n.Content[i].Value, n.Content[i+1]
			if key == "<<" {
				errs = append(errs, checkNode(value, t, path)...)
				continue
			}
			ft, ok := fields[key]
			if !ok {
				errs = append(errs, unknownKey(join(path, key), key, fields))
				continue
			}
			errs = append(errs, checkNode(value, ft, join(path, key))...)
		}
		return errs
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		var errs []error
		for i, item := range n.Content {
			errs = append(errs, checkNode(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return errs
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		var errs []error
		for i := 0; i+1 < len(n.Content); i += 2 {
			errs = append(errs, checkNode(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))...)
		}
		return errs
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		return []error{typeError(path, n, t)}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func keyName(path string) string {
	if path == "" {
		return "the document"
	}
	return "`" + path + "`"
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a map"
	}
	return "`" + n.Value + "`"
}

// typeError says in the user's terms what a value should have been.
func typeError(path string, n *yaml.Node, t reflect.Type) error {
	at := fmt.Sprintf("%s (line %d)", keyName(path), n.Line)
	switch {
	case t == reflect.TypeOf(time.Duration(0)):
		if _, err := strconv.ParseFloat(n.Value, 64); err == nil && n.Kind == yaml.ScalarNode {
			return fmt.Errorf("%s: `%s` is not a duration; write `%ss`", at, n.Value, n.Value)
		}
		return fmt.Errorf("%s: %s is not a duration; write one like `10s`, `500ms` or `5m`", at, describe(n))
	case t.Kind() == reflect.Bool:
		return fmt.Errorf("%s: %s is not true or false", at, describe(n))
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return fmt.Errorf("%s: %s is not a whole number", at, describe(n))
	case t.Kind() == reflect.Slice:
		return fmt.Errorf("%s: %s is not a list; write `[a, b]`", at, describe(n))
	case t.Kind() == reflect.Map:
		return fmt.Errorf("%s: %s is not a map; write `{key: value}`", at, describe(n))
	}
	return fmt.Errorf("%s: %s is not a %s", at, describe(n), t.Kind())
}

// unknownKey names the key and, when one is close enough to be the intended one, the nearest
// valid key of the same map.
func unknownKey(path, key string, fields map[string]reflect.Type) error {
	best, bestDist := "", len(key)/2+2
	for name := range fields {
		if d := editDistance(key, name); d < bestDist || (d == bestDist && name < best) {
			best, bestDist = name, d
		}
	}
	if best == "" {
		return fmt.Errorf("`%s`: no such configuration key", path)
	}
	return fmt.Errorf("`%s`: no such configuration key; did you mean `%s`?", path, best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// EnvOverrides turns VERDICT_* variables (in os.Environ form) into overrides, sorted by path.
// It also returns the VERDICT_* names that match no key: callers should warn about them rather
// than fail, because orchestrators add variables of their own (Kubernetes sets
// VERDICT_PORT and VERDICT_SERVICE_HOST for a service named verdict).
func EnvOverrides(environ []string) (overrides []Override, unknown []string) {
	byEnv := map[string]string{}
	for _, path := range Keys() {
		byEnv[EnvPrefix+strings.ToUpper(strings.ReplaceAll(path, ".", "_"))] = path
	}
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		if path, ok := byEnv[name]; ok {
			overrides = append(overrides, Override{Path: path, Value: value})
		} else {
			unknown = append(unknown, name)
		}
	}
	sort.Slice(overrides, func(i, j int) bool { return overrides[i].Path < overrides[j].Path })
	sort.Strings(unknown)
	return overrides, unknown
}

// Keys lists every key path that an override can set, sorted.
func Keys() []string {
	var keys []string
	walkKeys(reflect.TypeOf(Config{}), "", func(path string, _ []int) { keys = append(keys, path) })
	sort.Strings(keys)
	return keys
}

func walkKeys(t reflect.Type, prefix string, visit func(path string, index []int)) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		path := prefix + name
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft.PkgPath() != "time" {
			walkKeys(ft, path+".", func(p string, idx []int) { visit(p, append([]int{i}, idx...)) })
			continue
		}
		visit(path, []int{i})
	}
}

func (c *Config) set(path, value string) error {
	v := reflect.ValueOf(c).Elem()
	var found bool
	var err error
	walkKeys(v.Type(), "", func(p string, index []int) {
		if p != path || found {
			return
		}
		found = true
		field := v
		for _, i := range index {
			if field.Kind() == reflect.Pointer {
				if field.IsNil() {
					field.Set(reflect.New(field.Type().Elem()))
				}
				field = field.Elem()
			}
			field = field.Field(i)
		}
		if field.Kind() == reflect.String {
			field.SetString(value)
			return
		}
		if items, ok := commaList(field.Type(), value); ok {
			err = setList(field, path, items)
			return
		}
		target := reflect.New(field.Type())
		dec := yaml.NewDecoder(bytes.NewBufferString(value))
		dec.KnownFields(true)
		if derr := dec.Decode(target.Interface()); derr != nil && !errors.Is(derr, io.EOF) {
			err = fmt.Errorf("%s: %w", path, derr)
			return
		}
		field.Set(target.Elem())
	})
	if !found {
		return fmt.Errorf("%s: no such configuration key", path)
	}
	return err
}

// commaList splits value when t is a list of strings and value is not written as a YAML list
// (which starts with "[" or "- ", or runs over several lines): "a, b" is [a b]. An empty value is left
// to YAML, which reads it as unset.
func commaList(t reflect.Type, value string) ([]string, bool) {
	trimmed := strings.TrimSpace(value)
	if t.Kind() != reflect.Slice || t.Elem().Kind() != reflect.String || trimmed == "" ||
		strings.HasPrefix(trimmed, "[") || strings.HasPrefix(trimmed, "- ") || strings.Contains(trimmed, "\n") {
		return nil, false
	}
	items := strings.Split(trimmed, ",")
	for i := range items {
		items[i] = strings.TrimSpace(items[i])
	}
	return items, true
}

// setList stores comma-separated items in field, refusing an empty item (a,,b or a trailing
// comma), which is a typo rather than a value.
func setList(field reflect.Value, path string, items []string) error {
	for i, item := range items {
		if item == "" {
			return fmt.Errorf("%s: item %d of the comma-separated list is empty", path, i+1)
		}
	}
	list := reflect.MakeSlice(field.Type(), len(items), len(items))
	for i, item := range items {
		list.Index(i).SetString(item)
	}
	field.Set(list)
	return nil
}

package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"

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
	if file != nil {
		dec := yaml.NewDecoder(file)
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return Config{}, fmt.Errorf("config file: %w", err)
		}
	}
	for _, o := range overrides {
		if err := c.set(o.Path, o.Value); err != nil {
			return Config{}, err
		}
	}
	c.SetDefaults()
	return c, nil
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

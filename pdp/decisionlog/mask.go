package decisionlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Mask operations, as OPA's data.system.log.mask names them.
const (
	opRemove = "remove"
	opUpsert = "upsert"
)

// errNoTarget means a pointer names nothing in the event: the rule is skipped, as in OPA.
var errNoTarget = errors.New("mask path names nothing in the event")

// maskRule erases (remove) or sets (upsert) the value a JSON pointer names under the event's
// input or result, with OPA's semantics: removing a missing value does nothing, upsert creates
// the missing objects on the way, a pointer to the whole input or result replaces or erases it.
type maskRule struct {
	op    string
	parts []string // parts[0] is "input" or "result"
	value any
}

// String is the pointer as it appears in the event's erased or masked list.
func (r maskRule) String() string { return "/" + strings.Join(r.parts, "/") }

// parseMaskRule reads one pointer to erase: "/input/password".
func parseMaskRule(pointer string) (maskRule, error) {
	if !strings.HasPrefix(pointer, "/") {
		return maskRule{}, fmt.Errorf("mask %q: must start with /", pointer)
	}
	parts := strings.Split(pointer[1:], "/")
	if parts[0] != "input" && parts[0] != "result" {
		return maskRule{}, fmt.Errorf("mask %q: must be under /input or /result", pointer)
	}
	return maskRule{op: opRemove, parts: parts}, nil
}

// parseMaskRules reads the value of data.system.log.mask: a set (array) of pointers or of
// {"op": "remove"|"upsert", "path": pointer, "value": any} objects.
func parseMaskRules(v any) ([]maskRule, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("mask rules are not a set of pointers or objects")
	}
	rules := make([]maskRule, 0, len(list))
	for _, x := range list {
		switch x := x.(type) {
		case string:
			r, err := parseMaskRule(x)
			if err != nil {
				return nil, err
			}
			rules = append(rules, r)
		case map[string]any:
			path, _ := x["path"].(string)
			r, err := parseMaskRule(path)
			if err != nil {
				return nil, err
			}
			switch op, _ := x["op"].(string); op {
			case "", opRemove:
			case opUpsert:
				r.op, r.value = opUpsert, x["value"]
			default:
				return nil, fmt.Errorf("mask %q: op %q is not remove or upsert", path, op)
			}
			rules = append(rules, r)
		default:
			return nil, fmt.Errorf("mask rule is a %T, not a pointer or an object", x)
		}
	}
	return rules, nil
}

// apply changes the generic event e by r and notes it in e's erased or masked list. A rule
// whose target is missing is skipped.
func (r maskRule) apply(e map[string]any) {
	root := r.parts[0]
	doc, ok := e[root]
	if !ok {
		return
	}
	list := "masked"
	switch {
	case r.op == opRemove && len(r.parts) == 1:
		delete(e, root)
		list = "erased"
	case r.op == opRemove:
		doc, err := remove(doc, r.parts[1:])
		if err != nil {
			return
		}
		e[root] = doc
		list = "erased"
	case len(r.parts) == 1:
		e[root] = r.value
	default:
		if upsert(doc, r.parts[1:], r.value) != nil {
			return
		}
	}
	noted, _ := e[list].([]any)
	e[list] = append(noted, r.String())
}

// remove deletes the value path names below doc and returns doc without it: a shortened
// array is a new slice header, which the parent takes in its place.
func remove(doc any, path []string) (any, error) {
	p, rest := path[0], path[1:]
	switch v := doc.(type) {
	case map[string]any:
		child, ok := v[p]
		if !ok {
			return nil, errNoTarget
		}
		if len(rest) == 0 {
			delete(v, p)
			return v, nil
		}
		c, err := remove(child, rest)
		if err != nil {
			return nil, err
		}
		v[p] = c
		return v, nil
	case []any:
		i, err := index(v, p)
		if err != nil {
			return nil, err
		}
		if len(rest) == 0 {
			return slices.Delete(v, i, i+1), nil
		}
		c, err := remove(v[i], rest)
		if err != nil {
			return nil, err
		}
		v[i] = c
		return v, nil
	}
	return nil, errNoTarget
}

// upsert sets the value path names below doc, creating missing objects on the way.
func upsert(doc any, path []string, value any) error {
	node := doc
	for _, p := range path[:len(path)-1] {
		switch v := node.(type) {
		case map[string]any:
			child, ok := v[p]
			if !ok {
				child = map[string]any{}
				v[p] = child
			}
			node = child
		case []any:
			i, err := index(v, p)
			if err != nil {
				return err
			}
			node = v[i]
		default:
			return errNoTarget
		}
	}
	last := path[len(path)-1]
	switch v := node.(type) {
	case map[string]any:
		v[last] = value
	case []any:
		i, err := index(v, last)
		if err != nil {
			return err
		}
		v[i] = value
	default:
		return errNoTarget
	}
	return nil
}

func index(list []any, p string) (int, error) {
	i, err := strconv.Atoi(p)
	if err != nil || i < 0 || i >= len(list) {
		return 0, errNoTarget
	}
	return i, nil
}

// decodeNumbers decodes JSON keeping numbers exact (json.Number).
func decodeNumbers(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

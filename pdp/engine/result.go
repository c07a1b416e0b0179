package engine

import (
	"fmt"

	"github.com/open-policy-agent/opa/v1/rego"
)

// decisionFrom maps the entrypoint's result to a Decision, failing closed: Allow is true only
// when the result is the boolean true or an object whose "allow" is the boolean true. An
// undefined result, a wrong-typed "allow" or a result of any other type is a deny with an
// error wrapping ErrEvaluation. The optional fields are read tolerantly: a wrong-typed
// reasons, obligations or risk, or a wrong-typed element in them, is dropped.
func decisionFrom(rs rego.ResultSet, revision string) (Decision, error) {
	d := denial(revision)
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return d, fmt.Errorf("%w: the decision is undefined", ErrEvaluation)
	}
	switch v := rs[0].Expressions[0].Value.(type) {
	case bool:
		d.Allow = v
		return d, nil
	case map[string]any:
		allow, ok := v["allow"].(bool)
		if !ok {
			return d, fmt.Errorf("%w: the decision's allow is %s, not a boolean", ErrEvaluation, jsonType(v["allow"]))
		}
		d.Allow = allow
		d.Reasons = reasons(v["reasons"])
		d.Obligations = obligations(v["obligations"])
		d.Risk, _ = v["risk"].(map[string]any)
		return d, nil
	default:
		return d, fmt.Errorf("%w: the decision is %s, not an object or a boolean", ErrEvaluation, jsonType(v))
	}
}

// denial is the decision returned whenever there is no allow to give. Its slices are empty,
// not nil, so it encodes as [] like every other decision.
func denial(revision string) Decision {
	return Decision{Reasons: []string{}, Obligations: []map[string]any{}, Revision: revision}
}

func reasons(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func obligations(v any) []map[string]any {
	list, _ := v.([]any)
	out := make([]map[string]any, 0, len(list))
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// jsonType names the JSON type of a value decoded from a Rego result, for error messages that
// must not echo the value itself.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "missing or null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return "a number"
	}
}

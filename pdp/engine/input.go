package engine

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
)

// ErrInvalidInput means the input could not be turned into a policy input document (a
// property that is not a JSON value, a malformed json.Number, a number too large for OPA). It
// is always returned together with ErrEvaluation, so callers that only know ErrEvaluation still
// deny; callers that blame the request for it must check ErrInvalidInput first.
var ErrInvalidInput = errors.New("invalid policy input")

// Interned keys of the input document.
var (
	keySubject    = ast.InternedTerm("subject")
	keyAction     = ast.InternedTerm("action")
	keyResource   = ast.InternedTerm("resource")
	keyContext    = ast.InternedTerm("context")
	keyToken      = ast.InternedTerm("token")
	keyType       = ast.InternedTerm("type")
	keyID         = ast.InternedTerm("id")
	keyName       = ast.InternedTerm("name")
	keyProperties = ast.InternedTerm("properties")
	keyKind       = ast.InternedTerm("kind")
	keyIssuer     = ast.InternedTerm("issuer")
	keyClaims     = ast.InternedTerm("claims")
)

// inputValue builds the input document straight from the typed Input, without a JSON round
// trip. The document is exactly what json.Marshal(in) would give (fields with omitempty are
// left out when empty), so a policy sees the same input from the HTTP API, from `verdict eval`
// and from `opa eval`. Numbers, including json.Number values, become Rego numbers.
func inputValue(in *Input) (ast.Value, error) {
	if in == nil {
		return nil, fmt.Errorf("%w: %w: no input", ErrEvaluation, ErrInvalidInput)
	}
	p := in.prepared()
	if p == nil {
		var err error
		if p, err = NewPrincipal(in.Subject, in.Token); err != nil {
			return nil, err
		}
	}
	action := ast.NewObjectWithCapacity(2)
	action.Insert(keyName, ast.InternedTerm(in.Action.Name))
	if err := insertMap(action, keyProperties, in.Action.Properties); err != nil {
		return nil, inputError("action", err)
	}
	resource, err := entity(in.Resource.Type, in.Resource.ID, in.Resource.Properties)
	if err != nil {
		return nil, inputError("resource", err)
	}

	doc := ast.NewObjectWithCapacity(5)
	doc.Insert(keySubject, p.values[0])
	doc.Insert(keyAction, ast.NewTerm(action))
	doc.Insert(keyResource, ast.NewTerm(resource))
	if err := insertMap(doc, keyContext, in.Context); err != nil {
		return nil, inputError("context", err)
	}
	if p.values[1] != nil {
		doc.Insert(keyToken, p.values[1])
	}
	return doc, nil
}

func inputError(field string, err error) error {
	return fmt.Errorf("%w: %w: %s: %w", ErrEvaluation, ErrInvalidInput, field, err)
}

func entity(typ, id string, props map[string]any) (ast.Object, error) {
	obj := ast.NewObjectWithCapacity(3)
	obj.Insert(keyType, ast.InternedTerm(typ))
	obj.Insert(keyID, ast.InternedTerm(id))
	if err := insertMap(obj, keyProperties, props); err != nil {
		return nil, err
	}
	return obj, nil
}

func token(t *Token) (ast.Object, error) {
	obj := ast.NewObjectWithCapacity(3)
	obj.Insert(keyKind, ast.InternedTerm(t.Kind))
	obj.Insert(keyIssuer, ast.InternedTerm(t.Issuer))
	// Claims has no omitempty: a nil map is JSON null.
	claims := ast.Value(ast.NullValue)
	if t.Claims != nil {
		v, err := toValue(t.Claims)
		if err != nil {
			return nil, fmt.Errorf("claims: %w", err)
		}
		claims = v
	}
	obj.Insert(keyClaims, ast.NewTerm(claims))
	return obj, nil
}

// insertMap inserts m under key unless it is empty (omitempty).
func insertMap(obj ast.Object, key *ast.Term, m map[string]any) error {
	if len(m) == 0 {
		return nil
	}
	v, err := toValue(m)
	if err != nil {
		return fmt.Errorf("%s: %w", string(key.Value.(ast.String)), err)
	}
	obj.Insert(key, ast.NewTerm(v))
	return nil
}

// toValue converts a JSON-shaped Go value to an AST value. OPA checks only the exponent of a
// json.Number, so a malformed one ("x", "") is refused here before it can reach the evaluator.
func toValue(x any) (ast.Value, error) {
	if err := checkNumbers(x); err != nil {
		return nil, err
	}
	return ast.InterfaceToValue(x)
}

func checkNumbers(x any) error {
	switch v := x.(type) {
	case json.Number:
		if !isJSONNumber(string(v)) {
			return fmt.Errorf("%q is not a JSON number", string(v))
		}
	case map[string]any:
		for _, e := range v {
			if err := checkNumbers(e); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range v {
			if err := checkNumbers(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// isJSONNumber reports whether s has the grammar of a JSON number (RFC 8259 §6).
func isJSONNumber(s string) bool {
	i := 0
	digits := func() int {
		start := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		return i - start
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch n := digits(); {
	case n == 0:
		return false
	case n > 1 && s[i-n] == '0':
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

package engine

import (
	"reflect"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Principal is a subject and the token that vouches for it, converted to policy values once.
// A verified token is presented on many requests; converting its claims on each of them was a
// tenth of a decision's cost. A Principal is read-only and safe to share between goroutines.
type Principal struct {
	subject Subject
	token   *Token
	values  [2]*ast.Term // subject, token
}

// NewPrincipal converts subject and tok (which may be nil) to policy values. It fails, with
// ErrInvalidInput, where building an input from them would.
func NewPrincipal(subject Subject, tok *Token) (*Principal, error) {
	p := &Principal{subject: subject, token: tok}
	s, err := entity(subject.Type, subject.ID, subject.Properties)
	if err != nil {
		return nil, inputError("subject", err)
	}
	p.values[0] = ast.NewTerm(s)
	if tok != nil {
		t, err := token(tok)
		if err != nil {
			return nil, inputError("token", err)
		}
		p.values[1] = ast.NewTerm(t)
	}
	return p, nil
}

// SetPrincipal makes p the input's subject and token.
func (in *Input) SetPrincipal(p *Principal) {
	in.Subject = p.subject
	in.Token = p.token
	in.principal = p
}

// prepared returns the converted subject and token when they are still the input's own: a
// caller that replaced Subject or Token after SetPrincipal gets its replacement converted
// instead, never the stale values.
func (in *Input) prepared() *Principal {
	p := in.principal
	if p == nil || in.Token != p.token || in.Subject.Type != p.subject.Type || in.Subject.ID != p.subject.ID ||
		!sameMap(in.Subject.Properties, p.subject.Properties) {
		return nil
	}
	return p
}

// sameMap reports whether a and b are the same map (not merely equal ones).
func sameMap(a, b map[string]any) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

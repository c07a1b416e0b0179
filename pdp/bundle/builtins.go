package bundle

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	opabundle "github.com/open-policy-agent/opa/v1/bundle"
)

// ErrDeniedBuiltin means a bundle's Rego calls a builtin that reaches outside Verdict and that
// policy.allow_builtins does not name.
var ErrDeniedBuiltin = errors.New("the policy calls a builtin that reaches outside Verdict")

// deniedBuiltins are OPA's builtins that reach outside the process: the network (http.send,
// DNS, JSON Schema $refs fetched over http(s) or read from file://) or the runtime's own
// configuration and environment (opa.runtime). A bundle may call none of them unless
// policy.allow_builtins names it. OPA's other nondeterministic builtins (time.now_ns,
// rand.intn, uuid.rfc4122, the io.jwt functions that read the clock or sign) stay allowed:
// they read nothing outside.
var deniedBuiltins = []string{
	ast.HTTPSend.Name,
	ast.NetLookupIPAddr.Name,
	ast.OPARuntime.Name,
	ast.JSONSchemaVerify.Name,
	ast.JSONMatchSchema.Name,
}

// DeniedBuiltins returns the builtins a bundle may not call unless policy.allow_builtins names
// them.
func DeniedBuiltins() []string { return slices.Clone(deniedBuiltins) }

// Builtins is the set of OPA builtins a bundle may call: OPA's own, less the denied ones that
// policy.allow_builtins does not give back. Check names a refused call; Capabilities makes the
// compiler enforce the same set.
type Builtins struct {
	refused []string
	caps    *ast.Capabilities
}

// NewBuiltins returns the builtins a bundle may call with allow opted in. Each name in allow
// must be one of DeniedBuiltins.
func NewBuiltins(allow []string) (*Builtins, error) {
	for _, name := range allow {
		if !slices.Contains(deniedBuiltins, name) {
			return nil, fmt.Errorf("policy.allow_builtins: %q is not one of the builtins Verdict denies (%s)",
				name, strings.Join(deniedBuiltins, ", "))
		}
	}
	b := &Builtins{caps: ast.CapabilitiesForThisVersion()}
	for _, name := range deniedBuiltins {
		if !slices.Contains(allow, name) {
			b.refused = append(b.refused, name)
		}
	}
	b.caps.Builtins = slices.DeleteFunc(b.caps.Builtins, func(bi *ast.Builtin) bool { return slices.Contains(b.refused, bi.Name) })
	return b, nil
}

// Capabilities returns the compiler capabilities that leave the refused builtins out. The
// result is shared: callers must not change it.
func (b *Builtins) Capabilities() *ast.Capabilities { return b.caps }

// Check returns ErrDeniedBuiltin, naming the file, line and builtin of every refused call, when
// a module of bundle calls one. The compiler would refuse the bundle too, given Capabilities,
// but only as an "undefined function"; this says why and how to opt in.
func (b *Builtins) Check(bundle *opabundle.Bundle) error {
	var calls []string
	for _, mf := range bundle.Modules {
		if mf.Parsed == nil {
			continue
		}
		ast.WalkTerms(mf.Parsed, func(t *ast.Term) bool {
			if call, ok := t.Value.(ast.Call); ok && len(call) > 0 {
				calls = b.refusedCall(calls, call[0].String(), t.Location)
			}
			return false
		})
		ast.WalkExprs(mf.Parsed, func(e *ast.Expr) bool {
			if e.IsCall() {
				calls = b.refusedCall(calls, e.Operator().String(), e.Location)
			}
			return false
		})
	}
	if len(calls) == 0 {
		return nil
	}
	slices.Sort(calls)
	return fmt.Errorf("%w: %s (policy.allow_builtins opts in)", ErrDeniedBuiltin, strings.Join(slices.Compact(calls), "; "))
}

// refusedCall appends "file:row: name" to calls when name is a refused builtin.
func (b *Builtins) refusedCall(calls []string, name string, loc *ast.Location) []string {
	if !slices.Contains(b.refused, name) {
		return calls
	}
	if loc == nil {
		return append(calls, name)
	}
	return append(calls, fmt.Sprintf("%s:%d: %s", loc.File, loc.Row, name))
}

package engine

import (
	"github.com/open-policy-agent/opa/v1/ast"
)

// repeatable reports whether no rule of the compiled policy calls a non-deterministic builtin
// other than time.now_ns, whose answer Input.Now fixes. It looks at every call, reachable from the entrypoint or not: a
// little conservative, and cheap, once per activation.
func repeatable(c *ast.Compiler) bool {
	ok := true
	check := func(op ast.Ref) {
		name := op.String()
		if b, known := ast.BuiltinMap[name]; known && b.Nondeterministic && name != ast.NowNanos.Name {
			ok = false
		}
	}
	for _, m := range c.Modules {
		ast.WalkExprs(m, func(e *ast.Expr) bool {
			if e.IsCall() {
				check(e.Operator())
			}
			return !ok
		})
		ast.WalkTerms(m, func(t *ast.Term) bool {
			if call, isCall := t.Value.(ast.Call); isCall && len(call) > 0 {
				if op, isRef := call[0].Value.(ast.Ref); isRef {
					check(op)
				}
			}
			return !ok
		})
		if !ok {
			return false
		}
	}
	return true
}

package engine

import (
	"github.com/open-policy-agent/opa/v1/ast"
)

// facts are what the snapshot knows statically about its decision, for callers that reuse
// decisions (see Snapshot.Repeatable and Snapshot.ReadsClock).
type facts struct {
	// repeatable: no rule the decision depends on calls a non-deterministic builtin other than
	// time.now_ns.
	repeatable bool
	// readsClock: some rule the decision depends on calls time.now_ns or may read
	// input.context.time.
	readsClock bool
}

// decisionFacts inspects every rule the entrypoint depends on, following the compiler's
// dependency graph from the entrypoint's rules (with their else branches), so the rules of
// tests and of other entrypoints in the bundle do not count.
func decisionFacts(c *ast.Compiler, entrypoint ast.Ref) facts {
	f := facts{repeatable: true}
	seen := map[*ast.Rule]bool{}
	var queue []*ast.Rule
	push := func(r *ast.Rule) {
		for ; r != nil; r = r.Else {
			if !seen[r] {
				seen[r] = true
				queue = append(queue, r)
			}
		}
	}
	for _, r := range c.GetRules(entrypoint) {
		push(r)
	}
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		f.inspect(r)
		for dep := range c.Graph.Dependencies(r) {
			if dr, ok := dep.(*ast.Rule); ok {
				push(dr)
			}
		}
	}
	return f
}

// inspect records what rule r's own head and body do (its else branch is a rule of its own).
func (f *facts) inspect(r *ast.Rule) {
	f.walk(r.Head)
	f.walk(r.Body)
}

func (f *facts) walk(x any) {
	ast.WalkTerms(x, func(t *ast.Term) bool {
		switch v := t.Value.(type) {
		case ast.Call:
			if len(v) > 0 {
				if op, ok := v[0].Value.(ast.Ref); ok {
					f.call(op)
				}
			}
		case ast.Ref:
			if v.HasPrefix(ast.InputRootRef) && mayReachTime(v) {
				f.readsClock = true
			}
		}
		return false
	})
	ast.WalkExprs(x, func(e *ast.Expr) bool {
		if e.IsCall() {
			f.call(e.Operator())
		}
		return false
	})
}

func (f *facts) call(op ast.Ref) {
	name := op.String()
	b, builtin := ast.BuiltinMap[name]
	switch {
	case !builtin:
	case name == ast.NowNanos.Name:
		f.readsClock = true
	case b.Nondeterministic:
		f.repeatable = false
	}
}

// mayReachTime reports whether a reference rooted at input may read input.context.time: the
// whole input or context, the time itself, or a segment chosen at run time on the way.
func mayReachTime(r ast.Ref) bool {
	want := []ast.Value{ast.String("context"), ast.String("time")}
	for i, w := range want {
		if len(r) <= i+1 {
			return true
		}
		seg := r[i+1].Value
		if !ast.IsConstant(seg) {
			return true
		}
		if seg.Compare(w) != 0 {
			return false
		}
	}
	return true
}

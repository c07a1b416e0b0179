package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	vbundle "github.com/verdict-pdp/verdict/pdp/bundle"
	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/engine"
)

// shapes are the request shapes in inputs/, each with the decision the built-in policy gives it.
// docs/performance.md measures them with BenchmarkShapes and with `opa bench`.
var shapes = []struct {
	name    string
	allow   bool
	obliged bool
	about   string
}{
	{name: "allow", allow: true, about: "an editor reads a same-tenant internal document, low risk"},
	{name: "deny", about: "a viewer updates someone else's document: RBAC and ABAC both object"},
	{name: "step_up", obliged: true, about: "an admin deletes at medium risk without fresh MFA"},
	{name: "high_risk", allow: true, about: "an editor reads a public document at high risk (exempt)"},
}

func newShapeEngine(tb testing.TB) *engine.Engine {
	tb.Helper()
	b, err := vbundle.Builtin()
	if err != nil {
		tb.Fatal(err)
	}
	e, err := engine.New(config.Policy{}, engine.Deps{})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := e.Activate(context.Background(), b); err != nil {
		tb.Fatal(err)
	}
	return e
}

// readShape decodes inputs/<name>.json as the engine's input, numbers as json.Number like the
// HTTP API builds them.
func readShape(tb testing.TB, name string) *engine.Input {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("inputs", name+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var in engine.Input
	if err := dec.Decode(&in); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return &in
}

// TestShapes keeps the benchmark inputs meaningful: each still gets the decision it stands for.
func TestShapes(t *testing.T) {
	e := newShapeEngine(t)
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			d, err := e.Decide(context.Background(), readShape(t, s.name))
			if err != nil {
				t.Fatal(err)
			}
			if d.Allow != s.allow || (len(d.Obligations) > 0) != s.obliged {
				t.Errorf("%s (%s): allow %t, obligations %v; want allow %t, obligation %t",
					s.name, s.about, d.Allow, d.Obligations, s.allow, s.obliged)
			}
		})
	}
}

// BenchmarkShapes measures one decision of the built-in policy per request shape, through the
// engine as the HTTP API calls it.
func BenchmarkShapes(b *testing.B) {
	e := newShapeEngine(b)
	ctx := context.Background()
	for _, s := range shapes {
		in := readShape(b, s.name)
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Decide(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package engine

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	vbundle "github.com/verdict-pdp/verdict/pdp/bundle"
	"github.com/verdict-pdp/verdict/pdp/config"
)

// benchInput is an editor reading a same-tenant internal document, as httpapi builds it from
// a verified token (numbers as json.Number, lists as []any).
func benchInput() *Input {
	return &Input{
		Subject: Subject{Type: "user", ID: "alice", Properties: map[string]any{
			"roles": []any{"editor"}, "tenant": "acme", "scopes": []any{"document:read"},
			"amr": []any{"pwd", "otp"}, "acr": "urn:verdict:mfa", "auth_time": json.Number("1795341540"),
			"client_id": "web",
		}},
		Action: Action{Name: "read"},
		Resource: Resource{Type: "document", ID: "doc-42", Properties: map[string]any{
			"tenant": "acme", "owner": "bob", "classification": "internal",
		}},
		Context: map[string]any{"time": "2026-11-22T10:00:00Z", "ip": "203.0.113.7"},
		Token: &Token{Kind: "jwt", Issuer: "https://idp.example.com", Claims: map[string]any{
			"iss": "https://idp.example.com", "sub": "alice", "aud": "verdict", "client_id": "web",
			"exp": json.Number("1795345200"), "iat": json.Number("1795341600"), "jti": "b7f0c1",
			"roles": []any{"editor"}, "tenant": "acme", "scope": "document:read",
			"amr": []any{"pwd", "otp"}, "auth_time": json.Number("1795341540"),
		}},
	}
}

func BenchmarkDecide(b *testing.B) {
	bundle, err := vbundle.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	e := newEngine(b, config.Policy{})
	activate(b, e, bundle)
	in := benchInput()
	ctx := context.Background()
	if d, err := e.Decide(ctx, in); err != nil || !d.Allow {
		b.Fatalf("Decide() = %+v, %v; want an allow", d, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Decide(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecideParallel(b *testing.B) {
	bundle, err := vbundle.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	e := newEngine(b, config.Policy{})
	activate(b, e, bundle)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		in := benchInput()
		for pb.Next() {
			if _, err := e.Decide(ctx, in); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkInputValue builds the input document: "converted" converts subject and token per
// request; "prepared" reuses a Principal, as requests presenting a cached token do.
func BenchmarkInputValue(b *testing.B) {
	b.Run("converted", func(b *testing.B) { benchInputValue(b, benchInput()) })
	b.Run("prepared", func(b *testing.B) {
		in := benchInput()
		p, err := NewPrincipal(in.Subject, in.Token)
		if err != nil {
			b.Fatal(err)
		}
		in.SetPrincipal(p)
		benchInputValue(b, in)
	})
}

func benchInputValue(b *testing.B, in *Input) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := inputValue(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkActivate(b *testing.B) {
	bundle, err := vbundle.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	e := newEngine(b, config.Policy{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Activate(ctx, bundle); err != nil {
			b.Fatal(err)
		}
	}
}

// builtinEval is a snapshot of the built-in bundle and the benchmark input as a document.
func builtinEval(b *testing.B) (*Snapshot, ast.Value) {
	bundle, err := vbundle.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	s := activate(b, newEngine(b, config.Policy{}), bundle)
	input, err := inputValue(benchInput())
	if err != nil {
		b.Fatal(err)
	}
	return s, input
}

// BenchmarkEval is the evaluation alone, on an input document built beforehand.
func BenchmarkEval(b *testing.B) {
	s, input := builtinEval(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.eval(ctx, s.decision, input); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecisionFrom converts an evaluation's result to a Decision.
func BenchmarkDecisionFrom(b *testing.B) {
	s, input := builtinEval(b)
	rs, err := s.eval(context.Background(), s.decision, input)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decisionFrom(rs, s.revision); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvalRule evaluates parts of the built-in policy alone, each as its own query, on the
// BenchmarkEval input: what a rule costs together with the rules it reads. A query of a rule that
// reads only the input (rbac.action) is the floor every query pays.
func BenchmarkEvalRule(b *testing.B) {
	s, input := builtinEval(b)
	ctx := context.Background()
	for _, rule := range []string{
		"rbac.action", "rbac.granting_roles", "rbac.scope_ok", "rbac.allow", "rbac.allow_reasons",
		"abac.allow", "risk.now_ns", "risk.has_mfa", "risk.recent_auth", "risk.detected", "risk.summary",
		"authz.type_allow", "authz.type_obligations", "authz.allow", "authz.decision",
	} {
		pq, err := s.prepare(ctx, ast.MustParseRef("data.verdict."+rule))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(rule, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.eval(ctx, pq, input); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

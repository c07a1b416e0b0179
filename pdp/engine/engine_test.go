package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	opabundle "github.com/open-policy-agent/opa/v1/bundle"

	vbundle "github.com/verdict-pdp/verdict/pdp/bundle"
	"github.com/verdict-pdp/verdict/pdp/config"
)

// testBundle builds a bundle rooted at verdict from Rego and data files.
func testBundle(tb testing.TB, revision string, files map[string]string) *opabundle.Bundle {
	tb.Helper()
	manifest, _ := json.Marshal(map[string]any{"roots": []string{"verdict"}, "revision": revision})
	fsys := fstest.MapFS{".manifest": {Data: manifest}}
	for name, src := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(src)}
	}
	b, err := vbundle.FromFS(fsys)
	if err != nil {
		tb.Fatalf("build test bundle: %v", err)
	}
	return b
}

// decisionBundle is a bundle whose package verdict.authz is body.
func decisionBundle(tb testing.TB, revision, body string) *opabundle.Bundle {
	tb.Helper()
	return testBundle(tb, revision, map[string]string{"authz.rego": "package verdict.authz\n\n" + body + "\n"})
}

func newEngine(tb testing.TB, cfg config.Policy) *Engine {
	tb.Helper()
	e, err := New(cfg, Deps{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatalf("New() error = %v", err)
	}
	return e
}

func activate(tb testing.TB, e *Engine, b *opabundle.Bundle) *Snapshot {
	tb.Helper()
	s, err := e.Activate(context.Background(), b)
	if err != nil {
		tb.Fatalf("Activate() error = %v", err)
	}
	return s
}

func loadEditor(tb testing.TB) *opabundle.Bundle {
	tb.Helper()
	b, err := vbundle.Load(filepath.Join("testdata", "editor"), 1<<20)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func editorInput(action, tenant string) *Input {
	return &Input{
		Subject:  Subject{Type: "user", ID: "alice", Properties: map[string]any{"roles": []string{"editor"}, "tenant": "acme"}},
		Action:   Action{Name: action},
		Resource: Resource{Type: "document", ID: "doc-1", Properties: map[string]any{"tenant": tenant}},
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     config.Policy
		wantErr bool
	}{
		{name: "defaults", cfg: config.Policy{}},
		{name: "custom entrypoint", cfg: config.Policy{Entrypoint: "/acme/policy/allow/"}},
		{name: "negative timeout", cfg: config.Policy{DecisionTimeout: -time.Second}, wantErr: true},
		{name: "negative cache bound", cfg: config.Policy{InterQueryCacheBytes: -1}, wantErr: true},
		{name: "entrypoint with an empty segment", cfg: config.Policy{Entrypoint: "verdict//decision"}, wantErr: true},
		{name: "entrypoint of all data", cfg: config.Policy{Entrypoint: "/"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(tt.cfg, Deps{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("New() error = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && e.Current() != nil {
				t.Error("Current() is not nil before the first activation")
			}
		})
	}
}

func TestDecide(t *testing.T) {
	conflict := `decision := true if input.resource.id == "doc-1"

decision := false if input.resource.type == "document"`
	tests := []struct {
		name    string
		policy  string
		input   *Input
		want    Decision
		wantErr error
	}{
		{
			name:   "allow",
			policy: `decision := {"allow": true, "reasons": ["role editor grants read"]}`,
			want:   Decision{Allow: true, Reasons: []string{"role editor grants read"}, Obligations: []map[string]any{}},
		},
		{
			name: "deny with obligations and risk",
			policy: `decision := {"allow": false, "reasons": ["step up"],
	"obligations": [{"type": "step_up", "max_age": 300}], "risk": {"score": 35, "level": "medium"}}`,
			want: Decision{
				Reasons:     []string{"step up"},
				Obligations: []map[string]any{{"type": "step_up", "max_age": json.Number("300")}},
				Risk:        map[string]any{"score": json.Number("35"), "level": "medium"},
			},
		},
		{
			name:   "bare boolean true",
			policy: `decision := true`,
			want:   Decision{Allow: true, Reasons: []string{}, Obligations: []map[string]any{}},
		},
		{
			name:   "bare boolean false",
			policy: `decision := false`,
			want:   Decision{Reasons: []string{}, Obligations: []map[string]any{}},
		},
		{
			name:    "undefined",
			policy:  `decision := {"allow": true} if input.context.never`,
			want:    Decision{Reasons: []string{}, Obligations: []map[string]any{}},
			wantErr: ErrEvaluation,
		},
		{
			name:    "allow is a string",
			policy:  `decision := {"allow": "true", "reasons": ["looks allowed"]}`,
			want:    Decision{Reasons: []string{}, Obligations: []map[string]any{}},
			wantErr: ErrEvaluation,
		},
		{
			name:    "allow is missing",
			policy:  `decision := {"reasons": ["forgot allow"]}`,
			want:    Decision{Reasons: []string{}, Obligations: []map[string]any{}},
			wantErr: ErrEvaluation,
		},
		{
			name:    "result is a string",
			policy:  `decision := "allow"`,
			want:    Decision{Reasons: []string{}, Obligations: []map[string]any{}},
			wantErr: ErrEvaluation,
		},
		{
			name:    "result is a number",
			policy:  `decision := 1`,
			want:    Decision{Reasons: []string{}, Obligations: []map[string]any{}},
			wantErr: ErrEvaluation,
		},
		{
			name: "wrong-typed optional fields are dropped",
			policy: `decision := {"allow": true, "reasons": ["kept", 7, {"no": 1}],
	"obligations": ["not an object", {"type": "log"}], "risk": "high"}`,
			want: Decision{Allow: true, Reasons: []string{"kept"}, Obligations: []map[string]any{{"type": "log"}}},
		},
		{
			name:   "reasons as a set",
			policy: `decision := {"allow": false, "reasons": {"b", "a"}}`,
			want:   Decision{Reasons: []string{"a", "b"}, Obligations: []map[string]any{}},
		},
		{
			name:   "reasons not a list",
			policy: `decision := {"allow": true, "reasons": "one reason"}`,
			want:   Decision{Allow: true, Reasons: []string{}, Obligations: []map[string]any{}},
		},
		{
			name:    "conflicting values",
			policy:  conflict,
			want:    Decision{Reasons: []string{}, Obligations: []map[string]any{}},
			wantErr: ErrEvaluation,
		},
		{
			name:    "builtin error leaves the decision undefined",
			policy:  `decision := {"allow": to_number(input.resource.id) > 0}`,
			want:    Decision{Reasons: []string{}, Obligations: []map[string]any{}},
			wantErr: ErrEvaluation,
		},
		{
			name:    "nil input",
			policy:  `decision := true`,
			input:   nil,
			want:    Decision{Reasons: []string{}, Obligations: []map[string]any{}},
			wantErr: ErrInvalidInput,
		},
		{
			name:   "input reaches the policy",
			policy: `decision := {"allow": input.action.name == "read", "reasons": [input.subject.id, input.resource.id]}`,
			want:   Decision{Allow: true, Reasons: []string{"alice", "doc-1"}, Obligations: []map[string]any{}},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, config.Policy{})
			rev := fmt.Sprintf("rev-%d", i)
			activate(t, e, decisionBundle(t, rev, tt.policy))
			in := tt.input
			if in == nil && tt.name != "nil input" {
				in = editorInput("read", "acme")
			}
			got, err := e.Decide(context.Background(), in)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("Decide() error = %v", err)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Decide() error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil && !errors.Is(err, ErrEvaluation) {
				t.Errorf("Decide() error = %v does not wrap ErrEvaluation", err)
			}
			tt.want.Revision = rev
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decide() = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestDecideTimeout(t *testing.T) {
	const timeout = 50 * time.Millisecond
	e := newEngine(t, config.Policy{DecisionTimeout: timeout})
	// 125 million evaluator steps: minutes of work unless the timeout stops it.
	activate(t, e, decisionBundle(t, "slow", `decision := {"allow": count([1 |
	some a in numbers.range(1, 500)
	some b in numbers.range(1, 500)
	some c in numbers.range(1, 500)
]) > 0}`))

	start := time.Now()
	got, err := e.Decide(context.Background(), editorInput("read", "acme"))
	elapsed := time.Since(start)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Decide() error = %v, want ErrTimeout", err)
	}
	if got.Allow || got.Revision != "slow" || len(got.Reasons) != 0 {
		t.Errorf("Decide() = %+v, want a bare deny with the revision", got)
	}
	// Generous for loaded machines and -race; the point is that it stops at all.
	if elapsed > 5*time.Second {
		t.Errorf("Decide() took %s with a timeout of %s", elapsed, timeout)
	}
}

func TestDecideCanceled(t *testing.T) {
	e := newEngine(t, config.Policy{})
	activate(t, e, decisionBundle(t, "r", `decision := true`))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// A canceled caller gets a deny with ErrEvaluation and context.Canceled, even when the
	// evaluation finishes before it notices; never a timeout and never an allow.
	got, err := e.Decide(ctx, editorInput("read", "acme"))
	if !errors.Is(err, ErrEvaluation) || !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) || got.Allow {
		t.Fatalf("Decide() = %+v, %v", got, err)
	}
}

// TestDecidePastDeadline: a context whose deadline has passed gets ErrTimeout and a deny, even
// for a policy quick enough to finish before the halt reaches it.
func TestDecidePastDeadline(t *testing.T) {
	e := newEngine(t, config.Policy{})
	activate(t, e, decisionBundle(t, "r", `decision := true`))
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	got, err := e.Decide(ctx, editorInput("read", "acme"))
	if !errors.Is(err, ErrTimeout) || got.Allow {
		t.Fatalf("Decide() = %+v, %v; want a deny with ErrTimeout", got, err)
	}
}

// TestDecideCanceledMidEvaluation: a caller that goes away stops a long evaluation, and the
// error says so (context.Canceled), so the transport can tell it from a failing policy.
func TestDecideCanceledMidEvaluation(t *testing.T) {
	e := newEngine(t, config.Policy{DecisionTimeout: time.Minute})
	activate(t, e, decisionBundle(t, "slow", `decision := {"allow": count([1 |
	some a in numbers.range(1, 500)
	some b in numbers.range(1, 500)
	some c in numbers.range(1, 500)
]) > 0}`))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(20*time.Millisecond, cancel)
	got, err := e.Decide(ctx, editorInput("read", "acme"))
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrEvaluation) || errors.Is(err, ErrTimeout) || got.Allow {
		t.Fatalf("Decide() = %+v, %v; want a deny with ErrEvaluation and context.Canceled", got, err)
	}
}

func TestJSONNumberProperties(t *testing.T) {
	e := newEngine(t, config.Policy{})
	activate(t, e, loadEditor(t))
	tests := []struct {
		name string
		size any
		want bool
	}{
		{name: "json.Number below the limit", size: json.Number("12"), want: true},
		{name: "json.Number at the limit", size: json.Number("100"), want: true},
		{name: "json.Number above the limit", size: json.Number("100.5"), want: false},
		{name: "json.Number far above", size: json.Number("1e3"), want: false},
		{name: "int", size: 7, want: true},
		{name: "float64", size: 250.0, want: false},
		{name: "string is not a number", size: "12", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := editorInput("read", "acme")
			in.Resource.Properties["size"] = tt.size
			got, err := e.Decide(context.Background(), in)
			if err != nil {
				t.Fatalf("Decide() error = %v", err)
			}
			if got.Allow != tt.want {
				t.Errorf("allow = %v, want %v (reasons %v)", got.Allow, tt.want, got.Reasons)
			}
		})
	}
}

func TestBadNumberIsInvalidInput(t *testing.T) {
	e := newEngine(t, config.Policy{})
	activate(t, e, loadEditor(t))
	in := editorInput("read", "acme")
	in.Resource.Properties["size"] = json.Number("twelve")
	got, err := e.Decide(context.Background(), in)
	if !errors.Is(err, ErrInvalidInput) || !errors.Is(err, ErrEvaluation) || got.Allow || got.Revision != "editor-1" {
		t.Fatalf("Decide() = %+v, %v; want a deny with ErrInvalidInput", got, err)
	}
}

func TestDecideBeforeActivation(t *testing.T) {
	e := newEngine(t, config.Policy{})
	if e.Current() != nil {
		t.Fatal("Current() is not nil")
	}
	got, err := e.Decide(context.Background(), editorInput("read", "acme"))
	if !errors.Is(err, ErrNoPolicy) || got.Allow {
		t.Fatalf("Decide() = %+v, %v; want a deny with ErrNoPolicy", got, err)
	}
}

func TestActivateFailureKeepsServing(t *testing.T) {
	tests := []struct {
		name   string
		bundle func(t *testing.T) (*opabundle.Bundle, error)
		want   string
	}{
		{
			name: "parse error",
			bundle: func(t *testing.T) (*opabundle.Bundle, error) {
				return vbundle.FromFS(fstest.MapFS{"authz.rego": {Data: []byte("package verdict.authz\n\ndecision := {")}})
			},
			want: "authz.rego",
		},
		{
			name: "missing entrypoint",
			bundle: func(t *testing.T) (*opabundle.Bundle, error) {
				return decisionBundle(t, "no-decision", `allow := true`), nil
			},
			want: "entrypoint data.verdict.authz.decision is not defined",
		},
		{
			name: "entrypoint only in data",
			bundle: func(t *testing.T) (*opabundle.Bundle, error) {
				return testBundle(t, "data-only", map[string]string{
					"data.json": `{"verdict": {"authz": {"decision": true}}}`,
				}), nil
			},
			want: "not defined",
		},
		{
			name: "unsafe variable",
			bundle: func(t *testing.T) (*opabundle.Bundle, error) {
				return decisionBundle(t, "unsafe", `decision if { x > 1 }`), nil
			},
			want: "unsafe",
		},
		{
			name: "type error",
			bundle: func(t *testing.T) (*opabundle.Bundle, error) {
				return decisionBundle(t, "types", `decision := 1 + "one"`), nil
			},
			want: "rego_type_error",
		},
		{
			name: "data conflicts with a rule",
			bundle: func(t *testing.T) (*opabundle.Bundle, error) {
				return testBundle(t, "conflict", map[string]string{
					"authz.rego": "package verdict.authz\n\ndecision := true\n",
					"data.json":  `{"verdict": {"authz": {"decision": false}}}`,
				}), nil
			},
			want: "conflict",
		},
		{
			name: "http.send",
			bundle: func(t *testing.T) (*opabundle.Bundle, error) {
				return decisionBundle(t, "exfil", `decision := http.send({"method": "GET", "url": "http://127.0.0.1:1/"}).status_code == 200`), nil
			},
			want: "authz.rego:3: http.send (policy.allow_builtins opts in)",
		},
		{
			name: "DNS lookup in a helper",
			bundle: func(t *testing.T) (*opabundle.Bundle, error) {
				return decisionBundle(t, "dns", "decision if { count(ips) > 0 }\n\nips := net.lookup_ip_addr(input.resource.id)"), nil
			},
			want: "net.lookup_ip_addr",
		},
		{
			name: "opa.runtime",
			bundle: func(t *testing.T) (*opabundle.Bundle, error) {
				return decisionBundle(t, "runtime", `decision := {"allow": false, "reasons": [opa.runtime().env.HOME]}`), nil
			},
			want: "opa.runtime",
		},
		{
			name:   "no bundle",
			bundle: func(*testing.T) (*opabundle.Bundle, error) { return nil, nil },
			want:   "no bundle",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, config.Policy{})
			good := activate(t, e, loadEditor(t))

			b, err := tt.bundle(t)
			if err == nil {
				var s *Snapshot
				s, err = e.Activate(context.Background(), b)
				if s != nil {
					t.Error("Activate() returned a snapshot with its error")
				}
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to mention %q", err, tt.want)
			}
			if e.Current() != good {
				t.Fatal("a failed activation replaced the serving snapshot")
			}
			d, err := e.Decide(context.Background(), editorInput("update", "acme"))
			if err != nil || !d.Allow || d.Revision != "editor-1" {
				t.Fatalf("Decide() after failure = %+v, %v; want the old revision to allow", d, err)
			}
		})
	}
}

func TestActivateSwapsSnapshots(t *testing.T) {
	e := newEngine(t, config.Policy{})
	first := activate(t, e, decisionBundle(t, "one", `decision := true`))
	if first.ActivatedAt().IsZero() || e.Current() != first {
		t.Fatal("first snapshot not current or without activation time")
	}
	second := activate(t, e, decisionBundle(t, "two", `decision := false`))
	if e.Current() != second || second.ActivatedAt().Before(first.ActivatedAt()) {
		t.Fatal("second snapshot not current, or activated before the first")
	}
	// A request holding the old snapshot finishes against it.
	d, err := first.Decide(context.Background(), editorInput("read", "acme"))
	if err != nil || !d.Allow || d.Revision != "one" {
		t.Errorf("old snapshot Decide() = %+v, %v", d, err)
	}
	d, err = e.Decide(context.Background(), editorInput("read", "acme"))
	if err != nil || d.Allow || d.Revision != "two" {
		t.Errorf("Decide() = %+v, %v", d, err)
	}
}

func TestDerivedRevision(t *testing.T) {
	e := newEngine(t, config.Policy{})
	b := decisionBundle(t, "", `decision := true`)
	s := activate(t, e, b)
	if !strings.HasPrefix(s.Revision(), vbundle.RevisionPrefix) || s.Revision() != b.Manifest.Revision {
		t.Fatalf("revision = %q, bundle revision = %q", s.Revision(), b.Manifest.Revision)
	}
	// A bundle built by hand, without the loader, still gets a revision.
	b.Manifest.Revision = ""
	s = activate(t, e, b)
	if !strings.HasPrefix(s.Revision(), vbundle.RevisionPrefix) {
		t.Fatalf("revision = %q, want a derived one", s.Revision())
	}
}

func TestTestsInBundleDoNotBreakEvaluation(t *testing.T) {
	e := newEngine(t, config.Policy{})
	b := loadEditor(t)
	var tests int
	for _, mf := range b.Modules {
		if strings.HasSuffix(mf.Path, "_test.rego") {
			tests++
		}
	}
	if tests == 0 {
		t.Fatal("testdata/editor has no test file")
	}
	activate(t, e, b)
	d, err := e.Decide(context.Background(), editorInput("update", "acme"))
	if err != nil || !d.Allow || !reflect.DeepEqual(d.Reasons, []string{"role editor grants update"}) {
		t.Fatalf("Decide() = %+v, %v", d, err)
	}
}

func TestBuiltinBundle(t *testing.T) {
	b, err := vbundle.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, config.Policy{})
	s := activate(t, e, b)
	tests := []struct {
		name      string
		in        *Input
		wantAllow bool
	}{
		{name: "editor reads a same-tenant document", in: builtinInput("editor", "read", "acme"), wantAllow: true},
		{name: "viewer updates", in: builtinInput("viewer", "update", "acme")},
		{name: "cross-tenant read", in: builtinInput("editor", "read", "globex")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := e.Decide(context.Background(), tt.in)
			if err != nil {
				t.Fatalf("Decide() error = %v", err)
			}
			if d.Allow != tt.wantAllow || len(d.Reasons) == 0 || d.Revision != s.Revision() {
				t.Errorf("Decide() = %+v, want allow %v with reasons", d, tt.wantAllow)
			}
		})
	}
}

// builtinInput is a request as httpapi builds it from a verified token with fresh MFA.
func builtinInput(role, action, resourceTenant string) *Input {
	now := time.Now()
	return &Input{
		Subject: Subject{Type: "user", ID: "alice", Properties: map[string]any{
			"roles": []any{role}, "tenant": "acme", "scopes": []any{"document:" + action},
			"amr": []any{"pwd", "otp"}, "auth_time": json.Number(fmt.Sprint(now.Add(-time.Minute).Unix())),
			"client_id": "web",
		}},
		Action: Action{Name: action},
		Resource: Resource{Type: "document", ID: "doc-42", Properties: map[string]any{
			"tenant": resourceTenant, "owner": "alice", "classification": "internal",
		}},
		Context: map[string]any{"time": "2026-11-23T10:00:00Z", "ip": "203.0.113.7"},
		Token: &Token{Kind: "jwt", Issuer: "https://idp.example.com", Claims: map[string]any{
			"sub": "alice", "aud": "verdict", "exp": json.Number(fmt.Sprint(now.Add(time.Hour).Unix())),
		}},
	}
}

func TestActivateHandBuiltBundle(t *testing.T) {
	src := "package verdict.authz\n\ndecision := true\n"
	mod, err := ast.ParseModuleWithOpts("authz.rego", src, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		t.Fatal(err)
	}
	b := &opabundle.Bundle{
		Data:    map[string]any{},
		Modules: []opabundle.ModuleFile{{Path: "authz.rego", Raw: []byte(src), Parsed: mod}},
	}
	e := newEngine(t, config.Policy{})
	s := activate(t, e, b)
	if b.Manifest.Roots != nil {
		t.Error("Activate() changed the caller's bundle")
	}
	d, err := s.Decide(context.Background(), editorInput("read", "acme"))
	if err != nil || !d.Allow || !strings.HasPrefix(d.Revision, vbundle.RevisionPrefix) {
		t.Fatalf("Decide() = %+v, %v", d, err)
	}
}

// TestAllowBuiltins: policy.allow_builtins gives back a denied builtin, and only a denied one;
// the builtins that read nothing outside (time.now_ns) need no opting in.
func TestAllowBuiltins(t *testing.T) {
	tests := []struct {
		name    string
		allow   []string
		body    string
		wantErr string
	}{
		{name: "clock needs no opting in", body: `decision := time.now_ns() > 0`},
		{name: "http.send opted in", allow: []string{"http.send"}, body: `decision := false if http.send({"method": "GET", "url": "http://127.0.0.1:1/", "raise_error": false})`},
		{name: "another one still denied", allow: []string{"http.send"}, body: `decision := count(net.lookup_ip_addr("localhost")) > 0`, wantErr: "net.lookup_ip_addr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, config.Policy{AllowBuiltins: tt.allow})
			_, err := e.Activate(context.Background(), decisionBundle(t, "r", tt.body))
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Activate: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Activate error = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
	if _, err := New(config.Policy{AllowBuiltins: []string{"time.now_ns"}}, Deps{}); err == nil || !strings.Contains(err.Error(), "policy.allow_builtins") {
		t.Errorf("New with a builtin that is not denied: error %v, want one naming policy.allow_builtins", err)
	}
}

// TestActivateTakesData checks that activation hands the bundle's data to the store without
// keeping a decoded copy: the Go maps are emptied as they are converted, and the store answers
// with the same document.
func TestActivateTakesData(t *testing.T) {
	src := "package verdict.authz\n\ndecision := {\"allow\": data.verdict.users.alice.active}\n"
	mod, err := ast.ParseModuleWithOpts("authz.rego", src, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]any{"alice": map[string]any{"active": true, "roles": []any{"editor"}}}
	b := &opabundle.Bundle{
		Manifest: opabundle.Manifest{Revision: "r1", Roots: &[]string{"verdict"}},
		Data:     map[string]any{"verdict": map[string]any{"users": users}},
		Modules:  []opabundle.ModuleFile{{Path: "authz.rego", Raw: []byte(src), Parsed: mod}},
	}
	s := activate(t, newEngine(t, config.Policy{}), b)
	if len(users) != 0 {
		t.Errorf("the decoded data is still held after activation: %v", users)
	}
	got, defined, err := s.Query(context.Background(), "verdict/users/alice", nil)
	bs, _ := json.Marshal(got)
	if err != nil || !defined || string(bs) != `{"active":true,"roles":["editor"]}` {
		t.Fatalf("Query() = %s, %v, %v", bs, defined, err)
	}
}

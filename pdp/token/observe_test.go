package token

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/verdict-pdp/verdict/pdp/tracing/tracingtest"
)

// TestVerificationsCounted checks verdict_token_verifications_total: one series per issuer and
// result, the issuer label bounded to the configured issuers and "unknown".
func TestVerificationsCounted(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name           string
		token          func() string
		issuer, result string
	}{
		{name: "ok", token: func() string { return f.rs256(t, nil, claims(nil)) }, issuer: testIssuer, result: "ok"},
		{name: "other issuer ok", token: func() string { return f.signOther(t, map[string]any{}) }, issuer: otherIssuer, result: "ok"},
		{name: "expired", issuer: testIssuer, result: "exp",
			token: func() string { return f.rs256(t, nil, claims(map[string]any{"exp": testNow.Add(-time.Hour).Unix()})) }},
		{name: "wrong audience", issuer: testIssuer, result: "aud",
			token: func() string { return f.rs256(t, nil, claims(map[string]any{"aud": "someone-else"})) }},
		{name: "issuer a caller chose", issuer: unknownIssuer, result: "iss",
			token: func() string { return f.rs256(t, nil, claims(map[string]any{"iss": "https://evil.example/x1"})) }},
		{name: "not a token", token: func() string { return "a.b.c" }, issuer: unknownIssuer, result: "format"},
		{name: "opaque without introspection", token: func() string { return "opaque" }, issuer: unknownIssuer, result: "format"},
		{name: "revoked", issuer: testIssuer, result: "revoked",
			token: func() string { return f.rs256(t, nil, claims(map[string]any{"jti": "gone"})) }},
		{name: "store down", issuer: testIssuer, result: "unavailable",
			token: func() string { return f.rs256(t, nil, claims(map[string]any{"jti": "down"})) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			v := f.verifier(t, Deps{Registry: reg, Revocation: jtiRevocation{"gone": nil, "down": errors.New("store down")}})
			_, _ = v.Verify(context.Background(), tc.token())
			want := `verdict_token_verifications_total{issuer="` + tc.issuer + `",result="` + tc.result + `"} 1`
			got := gathered(t, reg)
			if !strings.Contains(got, want) {
				t.Errorf("metrics lack %s:\n%s", want, got)
			}
			if strings.Contains(got, "evil") {
				t.Errorf("a caller's issuer became a label:\n%s", got)
			}
		})
	}
}

// jtiRevocation revokes the jtis it holds with a nil error and fails on those with one.
type jtiRevocation map[string]error

func (r jtiRevocation) Revoked(_ context.Context, p *Principal) (bool, error) {
	err, found := r[p.TokenID]
	return found && err == nil, err
}

// gathered is reg's metrics in the text exposition format.
func gathered(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// TestVerifySpans checks the spans of a verification: the verify span with cache hit or miss,
// issuer, kind and result, the revocation check as its child, and never the token.
func TestVerifySpans(t *testing.T) {
	f := newFixture(t)
	tp, rec := tracingtest.NewProvider()
	v := f.verifier(t, Deps{TracerProvider: tp, Revocation: jtiRevocation{}})
	tok := f.rs256(t, nil, claims(nil))
	for range 2 {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = v.Verify(context.Background(), "a.b.c")
	spans := rec.Ended()
	var verify []sdktrace.ReadOnlySpan
	for _, s := range spans {
		for _, a := range s.Attributes() {
			if strings.Contains(a.Value.Emit(), tok) || strings.Contains(a.Value.Emit(), "a.b.c") {
				t.Errorf("span %s carries the token in %s", s.Name(), a.Key)
			}
		}
		switch s.Name() {
		case "verdict.token.verify":
			verify = append(verify, s)
		case "verdict.token.revocation_check":
			if !s.Parent().IsValid() {
				t.Errorf("revocation check has no parent")
			}
		}
	}
	if len(verify) != 3 {
		t.Fatalf("verify spans: %d, want 3", len(verify))
	}
	for i, want := range []string{"false " + testIssuer + " jwt ok", "true " + testIssuer + " jwt ok", "false unknown jwt format"} {
		if got := tracingtest.Attrs(verify[i], "verdict.token.cache_hit", "verdict.token.issuer", "verdict.token.kind", "verdict.token.result"); got != want {
			t.Errorf("verify span %d: %q, want %q", i, got, want)
		}
	}
}

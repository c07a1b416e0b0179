package bundle

import (
	"bytes"
	"strings"
	"testing"
)

func TestInspect(t *testing.T) {
	annotated := withEntry(entry{name: "/example/api/api.rego", body: "package example.api\n\n# METADATA\n# entrypoint: true\nallow if input.ok\n"})
	unsigned := func(t *testing.T) []byte { return tarGz(t, annotated(t)) }
	signedRaw := func(t *testing.T) []byte {
		raw, err := Sign(unsigned(t), testLimit, SignOptions{Key: testKeys()["rsa"].priv, KeyID: "ci", Scope: "prod"})
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	tests := []struct {
		name        string
		raw         func(t *testing.T) []byte
		opts        InspectOptions
		wantStatus  string
		wantDefined bool
		wantText    []string
	}{
		{
			name: "unsigned", raw: unsigned, opts: InspectOptions{Entrypoint: "example/authz/allow"},
			wantStatus: SignatureUnsigned, wantDefined: true,
			wantText: []string{"signature:   unsigned", "decision:    example/authz/allow (defined)", "entrypoints: example/api/allow", "  example.api\n"},
		},
		{
			name: "signed, no key", raw: signedRaw,
			wantStatus: SignatureUnverified,
			wantText:   []string{"signature:   signed, not verified (key ci, RS256, scope prod, 5 files)", "verdict/authz/decision (not defined)", ".signatures.json"},
		},
		{
			name: "signed, verified", raw: signedRaw,
			opts:       InspectOptions{Verifier: verifierFor(t, "", "prod", map[string]string{"ci": "rsa"})},
			wantStatus: SignatureVerified,
			wantText:   []string{"signature:   verified (key ci"},
		},
		{
			name: "signed, wrong key", raw: signedRaw,
			opts:       InspectOptions{Verifier: verifierFor(t, "", "prod", map[string]string{"ci": "rsa-other"})},
			wantStatus: SignatureInvalid,
			wantText:   []string{"signature:   invalid (key ci", "bad bundle signature"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.MaxBytes = testLimit
			in, err := Inspect(tt.raw(t), opts)
			if err != nil {
				t.Fatalf("Inspect() error = %v", err)
			}
			if in.Signature.Status != tt.wantStatus || in.Decision.Defined != tt.wantDefined {
				t.Errorf("signature %+v, decision %+v", in.Signature, in.Decision)
			}
			var buf bytes.Buffer
			if err := in.Write(&buf); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.wantText {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, buf.String())
				}
			}
		})
	}
}

func TestInspectRefuses(t *testing.T) {
	tests := []struct {
		name string
		raw  func(t *testing.T) []byte
	}{
		{name: "unsafe path", raw: func(t *testing.T) []byte { return tarGz(t, withEntry(entry{name: "../x.rego", body: "package x"})(t)) }},
		{name: "does not compile", raw: func(t *testing.T) []byte {
			return tarGz(t, withEntry(entry{name: "/example/x.rego", body: "package example.x\n\ny := undefined_function(1)\n"})(t))
		}},
		{name: "not gzip", raw: func(*testing.T) []byte { return []byte("hello") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Inspect(tt.raw(t), InspectOptions{MaxBytes: testLimit}); err == nil {
				t.Fatal("Inspect() succeeded")
			}
		})
	}
}

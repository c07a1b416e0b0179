package token

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/verdict-pdp/verdict/pdp/config"
)

func TestMapClaims(t *testing.T) {
	defaults := config.DefaultClaims()
	with := func(extra map[string]string) map[string]string {
		m := config.DefaultClaims()
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		claims  string
		mapping map[string]string
		want    map[string]any
	}{
		{
			name:    "defaults",
			claims:  `{"roles":["editor","viewer"],"tenant":"acme","scope":"docs:read  docs:write","amr":["pwd","otp"],"acr":"urn:mfa","auth_time":1700000000,"client_id":"web","clearance":"confidential"}`,
			mapping: defaults,
			want: map[string]any{
				"roles": []any{"editor", "viewer"}, "tenant": "acme", "scopes": []any{"docs:read", "docs:write"},
				"amr": []any{"pwd", "otp"}, "acr": "urn:mfa", "auth_time": json.Number("1700000000"),
				"client_id": "web", "clearance": "confidential",
			},
		},
		{name: "missing claims are absent", claims: `{"sub":"alice"}`, mapping: defaults, want: map[string]any{}},
		{name: "scopes from an scp array", claims: `{"scp":["docs:read","docs:write"]}`, mapping: defaults, want: map[string]any{"scopes": []any{"docs:read", "docs:write"}}},
		{name: "scopes from an scp string (Entra ID)", claims: `{"scp":"docs:read docs:write"}`, mapping: defaults, want: map[string]any{"scopes": []any{"docs:read", "docs:write"}}},
		{name: "scope wins over scp", claims: `{"scope":"a","scp":["b"]}`, mapping: defaults, want: map[string]any{"scopes": []any{"a"}}},
		{name: "empty scope", claims: `{"scope":""}`, mapping: defaults, want: map[string]any{"scopes": []any{}}},
		{
			name:    "dotted paths (Keycloak)",
			claims:  `{"realm_access":{"roles":["admin"]},"org":{"tenant":{"id":"acme"}}}`,
			mapping: with(map[string]string{"roles": "realm_access.roles", "tenant": "org.tenant.id"}),
			want:    map[string]any{"roles": []any{"admin"}, "tenant": "acme"},
		},
		{
			name:    "claim names containing dots (Auth0 namespaces)",
			claims:  `{"https://verdict.example.com/roles":["auditor"],"https://verdict.example.com/org":{"tenant":"acme"}}`,
			mapping: with(map[string]string{"roles": "https://verdict.example.com/roles", "tenant": "https://verdict.example.com/org.tenant"}),
			want:    map[string]any{"roles": []any{"auditor"}, "tenant": "acme"},
		},
		{name: "dotted path through a non-object", claims: `{"realm_access":"admin"}`, mapping: with(map[string]string{"roles": "realm_access.roles"}), want: map[string]any{}},
		{name: "a single role string becomes a list", claims: `{"roles":"admin"}`, mapping: defaults, want: map[string]any{"roles": []any{"admin"}}},
		{name: "non-string roles are dropped", claims: `{"roles":["admin",7,{"x":1}]}`, mapping: defaults, want: map[string]any{"roles": []any{"admin"}}},
		{name: "wrong shapes leave properties absent", claims: `{"roles":7,"tenant":["acme"],"auth_time":"yesterday","acr":1}`, mapping: defaults, want: map[string]any{}},
		{name: "custom property passes through", claims: `{"groups":[{"id":1}]}`, mapping: with(map[string]string{"groups": "groups"}), want: map[string]any{"groups": []any{map[string]any{"id": json.Number("1")}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mapClaims(decodeClaims(t, tc.claims), tc.mapping)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("mapClaims = %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func decodeClaims(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestPrincipal checks the Principal of a verified token end to end, including the fixture's
// extra mapping groups: realm_access.groups.
func TestPrincipal(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t, Deps{})
	tok := f.rs256(t, nil, claims(clm{
		"realm_access": map[string]any{"groups": []any{"ops"}},
		"auth_time":    testNow.Add(-5 * time.Minute).Unix(),
		"amr":          []any{"pwd", "otp"},
	}))
	p, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != "jwt" || p.Issuer != testIssuer || p.Subject != "alice" || p.TokenID != "jti-1" {
		t.Fatalf("principal = %+v", p)
	}
	if !p.ExpiresAt.Equal(testNow.Add(10*time.Minute)) || !p.IssuedAt.Equal(testNow.Add(-time.Minute)) {
		t.Fatalf("times = %v, %v", p.IssuedAt, p.ExpiresAt)
	}
	want := map[string]any{
		"roles": []any{"editor"}, "tenant": "acme", "scopes": []any{"docs:read", "docs:write"},
		"amr": []any{"pwd", "otp"}, "auth_time": json.Number(jsonInt(testNow.Add(-5 * time.Minute).Unix())),
		"client_id": "web", "groups": []any{"ops"},
	}
	if !reflect.DeepEqual(p.Properties, want) {
		t.Fatalf("properties = %#v\nwant %#v", p.Properties, want)
	}
	if _, ok := p.Claims["exp"].(json.Number); !ok {
		t.Fatalf("exp claim is %T, want json.Number", p.Claims["exp"])
	}
	if p.Claims["iss"] != testIssuer {
		t.Fatalf("claims = %v", p.Claims)
	}
}

func jsonInt(n int64) string { return strconv.FormatInt(n, 10) }

// TestSubjectClaim checks that an issuer's subject_claim names the claim the subject id comes
// from (Entra ID's oid), and that the claim, like sub, must be a string when present.
func TestSubjectClaim(t *testing.T) {
	tests := []struct {
		name         string
		subjectClaim string
		claims       clm
		want         string
		wantErr      error
	}{
		{name: "default is sub", claims: clm{"oid": "00000000-0000-0000-0000-00000000a11c"}, want: "alice"},
		{name: "oid", subjectClaim: "oid", claims: clm{"oid": "00000000-0000-0000-0000-00000000a11c"},
			want: "00000000-0000-0000-0000-00000000a11c"},
		{name: "sub explicitly", subjectClaim: "sub", claims: clm{"oid": "x"}, want: "alice"},
		{name: "subject claim absent", subjectClaim: "oid", want: ""},
		{name: "subject claim not a string", subjectClaim: "oid", claims: clm{"oid": 42}, wantErr: ErrClaim},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.cfg.Issuers[0].SubjectClaim = tt.subjectClaim
			v := f.verifier(t, Deps{})
			p, err := v.Verify(context.Background(), f.rs256(t, nil, claims(tt.claims)))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !errors.Is(err, ErrInvalidToken) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Subject != tt.want {
				t.Errorf("Subject = %q, want %q", p.Subject, tt.want)
			}
		})
	}
}

package token

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestExplain checks that every refusal names its check and, for the checks that compare
// values, what the token carried and what the configuration accepts.
func TestExplain(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t, Deps{})
	t.Cleanup(func() { _ = v.Close() })
	tests := []struct {
		name  string
		token func(t testing.TB) string
		want  string
	}{
		{name: "Keycloak's default audience", token: func(t testing.TB) string {
			return f.rs256(t, nil, claims(clm{"aud": "account"}))
		}, want: "aud: found [account], expected one of [verdict verdict-api]"},
		{name: "audience array", token: func(t testing.TB) string {
			return f.rs256(t, nil, claims(clm{"aud": []any{"account", "broker"}}))
		}, want: "aud: found [account broker], expected one of [verdict verdict-api]"},
		{name: "unknown issuer", token: func(t testing.TB) string {
			return f.rs256(t, nil, claims(clm{"iss": "https://evil.example.com"}))
		}, want: `iss: found "https://evil.example.com", expected one of [https://idp.example.com https://other.example.com]`},
		{name: "no iss", token: func(t testing.TB) string {
			return f.rs256(t, nil, claims(clm{"iss": nil}))
		}, want: "iss: found no iss, expected one of"},
		{name: "expired", token: func(t testing.TB) string {
			return f.rs256(t, nil, claims(clm{"exp": testNow.Add(-time.Hour).Unix()}))
		}, want: "exp: found 2026-11-22T09:00:00Z, expected after 2026-11-22T09:59:30Z (now less leeway 30s)"},
		{name: "not yet valid", token: func(t testing.TB) string {
			return f.rs256(t, nil, claims(clm{"nbf": testNow.Add(time.Hour).Unix()}))
		}, want: "nbf: found 2026-11-22T11:00:00Z, expected at or before 2026-11-22T10:00:30Z (now plus leeway 30s)"},
		{name: "typ JWT", token: func(t testing.TB) string {
			return f.rs256(t, hdr{"typ": "JWT"}, claims(nil))
		}, want: `typ: found "JWT", expected "at+jwt"`},
		{name: "no typ", token: func(t testing.TB) string {
			return f.rs256(t, hdr{"typ": nil}, claims(nil))
		}, want: `typ: found no typ, expected "at+jwt"`},
		{name: "unknown kid", token: func(t testing.TB) string {
			return f.rs256(t, hdr{"kid": "gone"}, claims(nil))
		}, want: `kid: found "gone", expected one of [ec-1 rsa-1]`},
		{name: "lifetime too long", token: func(t testing.TB) string {
			return f.rs256(t, nil, claims(clm{"exp": testNow.Add(3 * time.Hour).Unix()}))
		}, want: "lifetime: found 3h1m0s (exp - iat), expected at most 2h0m0s"},
		{name: "bad signature", token: func(t testing.TB) string {
			tok := f.rs256(t, nil, claims(nil))
			return replacePayload(t, tok, claims(clm{"sub": "mallory"}))
		}, want: "signature: "},
		{name: "missing required claim", token: func(t testing.TB) string {
			return f.rs256(t, nil, claims(clm{"jti": nil}))
		}, want: "claims: "},
		{name: "not a JWT", token: func(t testing.TB) string { return "opaque" }, want: "format: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.token(t)
			_, err := v.Verify(context.Background(), raw)
			if err == nil {
				t.Fatal("Verify accepted the token")
			}
			got := v.Explain(raw, err).String()
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("Explain = %q, want prefix %q", got, tt.want)
			}
			if sig := segments(raw); len(sig) == 3 && strings.Contains(got, sig[2]) {
				t.Errorf("Explain shows the signature: %q", got)
			}
		})
	}
}

// TestDecode checks that Decode returns header and claims, numbers as json.Number, and refuses
// what is not a JWS compact serialization.
func TestDecode(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name    string
		raw     string
		wantErr bool
	}{
		{name: "signed token", raw: f.rs256(t, nil, claims(nil))},
		{name: "two segments", raw: "a.b", wantErr: true},
		{name: "payload not an object", raw: rawToken(`{"alg":"RS256"}`, `[1]`, "x"), wantErr: true},
		{name: "bad base64", raw: "!!.!!.x", wantErr: true},
		{name: "payload with a stray closing brace", raw: rawToken(`{"alg":"RS256"}`, `{"a":1}}`, "x"), wantErr: true},
		{name: "payload a lone bracket", raw: rawToken(`{"alg":"RS256"}`, `]`, "x"), wantErr: true},
		{name: "payload a cut escape", raw: rawToken(`{"alg":"RS256"}`, `{"a\`, "x"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, c, err := Decode(tt.raw)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Decode = %v, %v, want an error", h, c)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h["kid"] != "rsa-1" || c["sub"] != "alice" || c["exp"].(interface{ String() string }).String() == "" {
				t.Errorf("Decode = %v, %v", h, c)
			}
		})
	}
}

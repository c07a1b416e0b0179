package token

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// bearerCase is one row of the BearerToken table; values are the Authorization headers sent.
type bearerCase struct {
	name   string
	values []string
	want   string
	err    error
}

func bearerCases() []bearerCase {
	return []bearerCase{
		{name: "bearer token", values: []string{"Bearer abc.def.ghi"}, want: "abc.def.ghi"},
		{name: "lowercase bearer", values: []string{"bearer abc.def.ghi"}, want: "abc.def.ghi"},
		{name: "mixed case bearer", values: []string{"BeArEr abc"}, want: "abc"},
		{name: "several spaces (1*SP)", values: []string{"Bearer   abc"}, want: "abc"},
		{name: "all b64token characters", values: []string{"Bearer aZ09-._~+/=="}, want: "aZ09-._~+/=="},
		{name: "no header", err: ErrNoCredentials},
		{name: "empty header", values: []string{""}, err: ErrNoCredentials},
		{name: "blank header", values: []string{"   "}, err: ErrNoCredentials},
		{name: "Basic scheme", values: []string{"Basic dXNlcjpwYXNz"}, err: ErrNoCredentials},
		{name: "DPoP scheme", values: []string{"DPoP abc"}, err: ErrNoCredentials},
		{name: "scheme glued to token", values: []string{"Bearerabc"}, err: ErrNoCredentials},
		{name: "two headers", values: []string{"Bearer abc", "Bearer def"}, err: ErrInvalidRequest},
		{name: "two headers, one empty", values: []string{"Bearer abc", ""}, err: ErrInvalidRequest},
		{name: "bearer without token", values: []string{"Bearer"}, err: ErrInvalidRequest},
		{name: "empty token", values: []string{"Bearer "}, err: ErrInvalidRequest},
		{name: "two tokens", values: []string{"Bearer abc def"}, err: ErrInvalidRequest},
		{name: "trailing space", values: []string{"Bearer abc "}, err: ErrInvalidRequest},
		{name: "tab separator", values: []string{"Bearer\tabc"}, err: ErrNoCredentials},
		{name: "garbage characters", values: []string{`Bearer abc"def`}, err: ErrInvalidRequest},
		{name: "comma", values: []string{"Bearer abc,def"}, err: ErrInvalidRequest},
		{name: "padding in the middle", values: []string{"Bearer ab=c"}, err: ErrInvalidRequest},
		{name: "only padding", values: []string{"Bearer =="}, err: ErrInvalidRequest},
		{name: "non-ASCII", values: []string{"Bearer abcé"}, err: ErrInvalidRequest},
		{name: "too long", values: []string{"Bearer " + strings.Repeat("a", 65)}, err: ErrInvalidToken},
		{name: "too long garbage is too long first", values: []string{"Bearer " + strings.Repeat("!", 65)}, err: ErrInvalidToken},
		{name: "exactly at the cap", values: []string{"Bearer " + strings.Repeat("a", 64)}, want: strings.Repeat("a", 64)},
	}
}

const testMaxBytes = 64

func TestBearerToken(t *testing.T) {
	for _, tc := range bearerCases() {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tc.values {
				h.Add("Authorization", v)
			}
			got, err := BearerToken(h, testMaxBytes)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if got != "" {
					t.Fatalf("token %q returned with error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("BearerToken = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestBearerTokenDefaultCap(t *testing.T) {
	h := http.Header{"Authorization": {"Bearer " + strings.Repeat("a", 9000)}}
	if _, err := BearerToken(h, 0); !errors.Is(err, ErrTokenTooLarge) {
		t.Fatalf("err = %v, want ErrTokenTooLarge under the default cap", err)
	}
}

// BenchmarkBearerToken reads an 800-byte token of random base64url, as a JWT's bytes are.
func BenchmarkBearerToken(b *testing.B) {
	raw := make([]byte, 600)
	for i := range raw {
		raw[i] = byte(i * 7919 % 251)
	}
	h := http.Header{"Authorization": {"Bearer " + base64.RawURLEncoding.EncodeToString(raw)}}
	for b.Loop() {
		if _, err := BearerToken(h, 8192); err != nil {
			b.Fatal(err)
		}
	}
}

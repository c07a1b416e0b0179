package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/verdict-pdp/verdict/pdp/config"
)

func TestPEPAuthentication(t *testing.T) {
	sum := sha256.Sum256([]byte("pep-secret-1"))
	apiKey := func(c *config.Config) {
		c.AuthZEN.PEPAuth = pepAuthAPIKey
		c.AuthZEN.APIKeysSHA256 = []string{strings.Repeat("ab", 32), strings.ToUpper(hex.EncodeToString(sum[:]))}
	}
	jwt := func(c *config.Config) {
		c.AuthZEN.PEPAuth = pepAuthJWT
		c.AuthZEN.Issuer = "https://pep.test"
		c.AuthZEN.Scope = "authzen:evaluate"
	}
	tests := []struct {
		name      string
		edit      func(*config.Config)
		path      string
		headers   []string
		status    int
		challenge string
		message   string // substring of the answer
	}{
		{name: "none trusts the caller", status: 200},
		{name: "api key as a bearer token", edit: apiKey, headers: []string{"Authorization", "Bearer pep-secret-1"}, status: 200},
		{name: "api key in X-API-Key", edit: apiKey, headers: []string{"X-API-Key", "pep-secret-1"}, status: 200},
		{name: "wrong api key", edit: apiKey, headers: []string{"X-API-Key", "pep-secret-2"}, status: 401,
			challenge: `error="invalid_token"`, message: "the API key is not accepted"},
		{name: "no api key", edit: apiKey, status: 401, challenge: `Bearer realm="verdict"`, message: "an API key is required"},
		{name: "api key on search", edit: apiKey, path: pathSearchAction, status: 401, challenge: `Bearer realm="verdict"`},
		{name: "api key on the Data API", edit: apiKey, path: "/v1/data/fixture/greeting", status: 401, challenge: `Bearer realm="verdict"`},
		{name: "PEP token", edit: jwt, headers: []string{"Authorization", "Bearer pep-token"}, status: 200},
		{name: "PEP token without the scope", edit: jwt, headers: []string{"Authorization", "Bearer pep-noscope-token"}, status: 403,
			challenge: `error="insufficient_scope", scope="authzen:evaluate"`},
		{name: "end-user token of another issuer", edit: jwt, headers: []string{"Authorization", "Bearer alice-token"}, status: 401,
			challenge: `error="invalid_token"`},
		{name: "invalid PEP token", edit: jwt, headers: []string{"Authorization", "Bearer forged"}, status: 401,
			challenge: `error="invalid_token"`},
		{name: "no PEP token", edit: jwt, status: 401, challenge: `Bearer realm="verdict"`, message: "a bearer token is required"},
		// config.Validate refuses unknown modes; a Server built without it still trusts no one.
		{name: "unknown mode", edit: func(c *config.Config) { c.AuthZEN.PEPAuth = "saml" }, status: 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, tt.edit)
			path := tt.path
			if path == "" {
				path = pathEvaluation
			}
			rec := send(t, s, http.MethodPost, path, tuple(alice, read, record1), tt.headers...)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); !strings.Contains(got, tt.challenge) {
				t.Errorf("WWW-Authenticate %q lacks %q", got, tt.challenge)
			}
			if !strings.Contains(rec.Body.String(), tt.message) {
				t.Errorf("answer %s lacks %q", rec.Body, tt.message)
			}
		})
	}
}

func TestMetadataNeedsNoPEPAuthentication(t *testing.T) {
	s := newTestServer(t, func(c *config.Config) {
		c.AuthZEN.PEPAuth = pepAuthAPIKey
		c.AuthZEN.APIKeysSHA256 = []string{strings.Repeat("ab", 32)}
	})
	if rec := send(t, s, http.MethodGet, pathAuthZENConfig, ""); rec.Code != 200 {
		t.Errorf("metadata status %d", rec.Code)
	}
}

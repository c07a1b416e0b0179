package token

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// idpServer is an in-process IdP that publishes metadata at the well-known locations the test
// chooses and its keys at /keys. metadata maps a request path to the issuer the document names
// there: "" names the server's own issuer, "+/" the same with a trailing slash.
type idpServer struct {
	*httptest.Server
	issuer   string
	keys     *jwksServer
	metadata map[string]string
	hits     map[string]*atomic.Int64
}

func newIDPServer(t *testing.T, f *fixture, issuerPath string, metadata map[string]string) *idpServer {
	t.Helper()
	s := &idpServer{keys: newJWKSServer(t, jwkEntry{pub: &f.rsa.PublicKey, kid: "rsa-1", alg: "RS256"}),
		metadata: metadata, hits: map[string]*atomic.Int64{}}
	for path := range metadata {
		s.hits[path] = &atomic.Int64{}
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/keys" {
			s.keys.serve(w, r)
			return
		}
		iss, ok := s.metadata[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		s.hits[r.URL.Path].Add(1)
		switch iss {
		case "":
			iss = s.issuer
		case "+/":
			iss = s.issuer + "/"
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": iss, "jwks_uri": s.URL + "/keys",
			"introspection_endpoint": s.URL + "/introspect"})
	}))
	t.Cleanup(s.Close)
	s.issuer = s.URL + issuerPath
	return s
}

// verifier trusts the IdP's issuer through discovery: true.
func (s *idpServer) verifier(t *testing.T, f *fixture, clk *clock) *Verifier {
	t.Helper()
	cfg := f.remoteConfig("")
	cfg.Issuers[0].Issuer, cfg.Issuers[0].Discovery = s.issuer, true
	return newRemoteVerifier(t, cfg, clk, Deps{})
}

func TestDiscovery(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name       string
		issuerPath string
		metadata   map[string]string
		ok         bool
		want       string // in LastError when !ok
		notTried   string // a metadata path that must not be fetched
	}{
		{name: "OIDC discovery", metadata: map[string]string{oidcWellKnown: ""}, ok: true},
		{name: "OIDC discovery for an issuer with a path", issuerPath: "/realms/acme",
			metadata: map[string]string{"/realms/acme" + oidcWellKnown: ""}, ok: true},
		{name: "RFC 8414 fallback", metadata: map[string]string{oauthWellKnown: ""}, ok: true},
		{name: "RFC 8414 fallback inserts the well-known path before the issuer's path", issuerPath: "/tenant",
			metadata: map[string]string{oauthWellKnown + "/tenant": ""}, ok: true},
		{name: "OIDC preferred over RFC 8414", metadata: map[string]string{oidcWellKnown: "", oauthWellKnown: "https://evil.example.com"},
			ok: true, notTried: oauthWellKnown},
		{name: "issuer mismatch refused, no fallback", metadata: map[string]string{oidcWellKnown: "https://evil.example.com", oauthWellKnown: ""},
			want: "another issuer", notTried: oauthWellKnown},
		{name: "issuer mismatch by a trailing slash", metadata: map[string]string{oidcWellKnown: "+/"}, want: "another issuer"},
		{name: "RFC 8414 document naming another issuer", metadata: map[string]string{oauthWellKnown: "https://evil.example.com"},
			want: "another issuer"},
		{name: "no metadata anywhere", metadata: map[string]string{}, want: "404"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			idp := newIDPServer(t, f, tc.issuerPath, tc.metadata)
			v := idp.verifier(t, f, newClock(testNow))
			st := waitFirstFetch(t, v)
			tok := f.rs256(t, nil, claims(clm{"iss": idp.issuer}))
			if tc.ok {
				if st.JWKSURL != idp.URL+"/keys" || st.Source != "discovery" || !slices.Equal(st.KeyIDs, []string{"rsa-1"}) {
					t.Fatalf("stats = %+v", st)
				}
				verifyOK(t, v, tok)
			} else {
				if len(st.KeyIDs) != 0 || !strings.Contains(st.LastError, tc.want) {
					t.Fatalf("stats = %+v, want no keys and an error mentioning %q", st, tc.want)
				}
				verifyFails(t, v, tok, ErrUnavailable)
				if n := idp.keys.fetches.Load(); n != 0 {
					t.Fatalf("the JWKS was fetched %d times after failed discovery", n)
				}
			}
			if tc.notTried != "" && idp.hits[tc.notTried].Load() != 0 {
				t.Fatalf("%s was fetched", tc.notTried)
			}
		})
	}
}

// TestDiscoveryKeepsJWKSURIForUnknownKids checks an unknown kid costs one JWKS fetch, not a
// rediscovery.
func TestDiscoveryKeepsJWKSURIForUnknownKids(t *testing.T) {
	f := newFixture(t)
	idp := newIDPServer(t, f, "", map[string]string{oidcWellKnown: ""})
	clk := newClock(testNow)
	v := idp.verifier(t, f, clk)
	waitFirstFetch(t, v)
	clk.advance(time.Minute)
	verifyFails(t, v, f.rs256(t, hdr{"kid": "rsa-2"}, claims(clm{"iss": idp.issuer})), ErrUnknownKey)
	if d, k := idp.hits[oidcWellKnown].Load(), idp.keys.fetches.Load(); d != 1 || k != 2 {
		t.Fatalf("metadata fetched %d times, keys %d; want 1 and 2", d, k)
	}
}

func TestReadMetadata(t *testing.T) {
	const iss = "https://idp.example.com"
	tests := []struct {
		name string
		doc  string
		want string // error substring; empty: accepted
	}{
		{name: "valid", doc: `{"issuer":"https://idp.example.com","jwks_uri":"https://idp.example.com/keys"}`},
		{name: "jwks_uri on another host", doc: `{"issuer":"https://idp.example.com","jwks_uri":"https://keys.example.net/jwks"}`},
		{name: "another issuer", doc: `{"issuer":"https://evil.example.com","jwks_uri":"https://idp.example.com/keys"}`, want: "another issuer"},
		{name: "no issuer", doc: `{"jwks_uri":"https://idp.example.com/keys"}`, want: "another issuer"},
		{name: "no jwks_uri", doc: `{"issuer":"https://idp.example.com"}`, want: "no jwks_uri"},
		{name: "jwks_uri not a URL", doc: `{"issuer":"https://idp.example.com","jwks_uri":"/keys"}`, want: "not an http(s) URL"},
		{name: "plain http jwks_uri for an https issuer", doc: `{"issuer":"https://idp.example.com","jwks_uri":"http://idp.example.com/keys"}`,
			want: "plain http"},
		{name: "duplicate issuer member", doc: `{"issuer":"https://evil.example.com","issuer":"https://idp.example.com","jwks_uri":"https://idp.example.com/keys"}`,
			want: "duplicate"},
		{name: "not an object", doc: `["https://idp.example.com"]`, want: "not a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readMetadata([]byte(tc.doc), iss)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if tc.want == "another issuer" && !errors.Is(err, errIssuerMismatch) {
				t.Fatalf("err = %v, want errIssuerMismatch", err)
			}
		})
	}
}

func TestMetadataURLs(t *testing.T) {
	tests := []struct{ issuer, oidc, rfc8414 string }{
		{"https://idp.example.com", "https://idp.example.com/.well-known/openid-configuration",
			"https://idp.example.com/.well-known/oauth-authorization-server"},
		{"https://idp.example.com/", "https://idp.example.com/.well-known/openid-configuration",
			"https://idp.example.com/.well-known/oauth-authorization-server"},
		{"https://login.example.com/tenant-1/v2.0", "https://login.example.com/tenant-1/v2.0/.well-known/openid-configuration",
			"https://login.example.com/.well-known/oauth-authorization-server/tenant-1/v2.0"},
	}
	for _, tc := range tests {
		got, err := metadataURLs(tc.issuer)
		if err != nil || !slices.Equal(got, []string{tc.oidc, tc.rfc8414}) {
			t.Errorf("metadataURLs(%q) = %v, %v", tc.issuer, got, err)
		}
	}
}

package httpapi

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/token"
)

func TestPEPAuthMTLS(t *testing.T) {
	s := newTestServer(t, func(c *config.Config) {
		c.AuthZEN.PEPAuth = pepAuthMTLS
		c.AuthZEN.ClientCertNames = []string{"gateway", "pep.example.com", "spiffe://example.com/pep"}
	})
	spiffe, _ := url.Parse("spiffe://example.com/pep")
	verified := func(leaf *x509.Certificate) *tls.ConnectionState {
		return &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}, VerifiedChains: [][]*x509.Certificate{{leaf}}}
	}
	tests := []struct {
		name   string
		tls    *tls.ConnectionState
		status int
		code   string
	}{
		{name: "plain HTTP", status: 401, code: CodeUnauthorized},
		{name: "TLS without a client certificate", tls: &tls.ConnectionState{}, status: 401, code: CodeUnauthorized},
		{name: "presented but not verified", tls: &tls.ConnectionState{
			PeerCertificates: []*x509.Certificate{{Subject: pkix.Name{CommonName: "gateway"}}}}, status: 401, code: CodeUnauthorized},
		{name: "subject common name", tls: verified(&x509.Certificate{Subject: pkix.Name{CommonName: "gateway"}}), status: 200},
		{name: "DNS name", tls: verified(&x509.Certificate{Subject: pkix.Name{CommonName: "x"}, DNSNames: []string{"a", "pep.example.com"}}), status: 200},
		{name: "URI name", tls: verified(&x509.Certificate{URIs: []*url.URL{spiffe}}), status: 200},
		{name: "a name not listed", tls: verified(&x509.Certificate{Subject: pkix.Name{CommonName: "intruder"}, DNSNames: []string{"evil.example.com"}}),
			status: 403, code: CodeAccessDenied},
		{name: "organization is not a name", tls: verified(&x509.Certificate{Subject: pkix.Name{Organization: []string{"gateway"}}}),
			status: 403, code: CodeAccessDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newRequest(http.MethodPost, pathEvaluation, tuple(alice, read, record1))
			req.TLS = tt.tls
			rec := serve(s, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if tt.code != "" && !strings.Contains(rec.Body.String(), `"code":"`+tt.code+`"`) {
				t.Errorf("answer %s lacks code %s", rec.Body, tt.code)
			}
		})
	}
}

func TestCORS(t *testing.T) {
	s := newTestServer(t, func(c *config.Config) {
		c.Server.CORS = &config.CORS{AllowedOrigins: []string{"https://app.example.com"}, AllowCredentials: true}
		c.SetDefaults()
	})
	preflight := []string{"Origin", "https://app.example.com", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization, content-type"}
	tests := []struct {
		name      string
		method    string
		path      string
		headers   []string
		status    int
		allowed   string // Access-Control-Allow-Origin, "" for none
		wantVary  bool
		preflight bool
	}{
		{name: "preflight of the native API", method: http.MethodOptions, path: "/v1/authorize", headers: preflight,
			status: 204, allowed: "https://app.example.com", wantVary: true, preflight: true},
		{name: "preflight of AuthZEN", method: http.MethodOptions, path: pathEvaluation, headers: preflight,
			status: 204, allowed: "https://app.example.com", wantVary: true, preflight: true},
		{name: "preflight from another origin", method: http.MethodOptions, path: "/v1/authorize",
			headers: []string{"Origin", "https://evil.example.com", "Access-Control-Request-Method", "POST"}, status: 405, wantVary: true},
		{name: "actual request from the origin", method: http.MethodPost, path: pathEvaluation,
			headers: []string{"Origin", "https://app.example.com"}, status: 200, allowed: "https://app.example.com", wantVary: true},
		{name: "actual request from another origin", method: http.MethodPost, path: pathEvaluation,
			headers: []string{"Origin", "https://evil.example.com"}, status: 200, wantVary: true},
		{name: "no origin", method: http.MethodPost, path: pathEvaluation, status: 200, wantVary: true},
		{name: "not a CORS path", method: http.MethodOptions, path: "/v1/data/fixture/greeting", headers: preflight, status: 405},
		{name: "origin differing in scheme", method: http.MethodOptions, path: "/v1/authorize",
			headers: []string{"Origin", "http://app.example.com", "Access-Control-Request-Method", "POST"}, status: 405, wantVary: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := ""
			if tt.method == http.MethodPost {
				body = tuple(alice, read, record1)
			}
			rec := send(t, s, tt.method, tt.path, body, tt.headers...)
			h := rec.Header()
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if got := h.Get("Access-Control-Allow-Origin"); got != tt.allowed {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tt.allowed)
			}
			if vary := strings.Join(h.Values("Vary"), ","); strings.Contains(vary, "Origin") != tt.wantVary {
				t.Errorf("Vary %q, want Origin in it: %v", vary, tt.wantVary)
			}
			if tt.allowed == "" {
				for name := range h {
					if strings.HasPrefix(name, "Access-Control-") {
						t.Errorf("CORS header %s sent to an origin not allowed", name)
					}
				}
				return
			}
			if h.Get("Access-Control-Allow-Credentials") != "true" {
				t.Error("Access-Control-Allow-Credentials missing")
			}
			if tt.preflight && (h.Get("Access-Control-Allow-Methods") != "GET, POST" ||
				h.Get("Access-Control-Allow-Headers") != "Authorization, Content-Type, X-Request-ID" || h.Get("Access-Control-Max-Age") != "600") {
				t.Errorf("preflight headers: %v", h)
			}
		})
	}
}

func TestCORSOffByDefault(t *testing.T) {
	s := newTestServer(t, nil)
	rec := send(t, s, http.MethodOptions, "/v1/authorize", "", "Origin", "https://app.example.com", "Access-Control-Request-Method", "POST")
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("status %d, headers %v; want 405 and no CORS", rec.Code, rec.Header())
	}
}

func TestRateLimit(t *testing.T) {
	tests := []struct {
		name string
		key  string
		// first and then are two series of requests by token (or remote address for
		// remote_addr); then must be refused after first used the burst of 2.
		first, then []string
		other       string // a client with a bucket of its own
	}{
		{name: "by subject", key: limitBySubject, first: []string{"alice-token", "alice-token"}, then: []string{"alice-mfa-token"}, other: "bob-token"},
		{name: "by client id, falling back to the subject", key: limitByClient, first: []string{"alice-token", "alice-mfa-token"},
			then: []string{"alice-token"}, other: "bob-token"},
		{name: "by remote address", key: limitByAddr, first: []string{"192.0.2.1:1000", "192.0.2.1:1001"}, then: []string{"192.0.2.1:1002"},
			other: "192.0.2.2:1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, func(c *config.Config) {
				c.Server.RateLimit = &config.RateLimit{Key: tt.key, Rate: 0.5, Burst: 2, MaxKeys: 10}
			})
			authorize := func(who string) *http.Response {
				req := newRequest(http.MethodPost, "/v1/authorize", `{"action":"read","resource":{"type":"record","id":"1"}}`)
				if tt.key == limitByAddr {
					req.RemoteAddr = who
					req.Header.Set("Authorization", "Bearer alice-token")
				} else {
					req.Header.Set("Authorization", "Bearer "+who)
				}
				return serve(s, req).Result()
			}
			for _, who := range tt.first {
				if resp := authorize(who); resp.StatusCode != 200 {
					t.Fatalf("%s within the burst: status %d", who, resp.StatusCode)
				}
			}
			for _, who := range tt.then {
				resp := authorize(who)
				if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" {
					t.Errorf("%s over the burst: status %d, Retry-After %q; want 429 and 2", who, resp.StatusCode, resp.Header.Get("Retry-After"))
				}
			}
			if resp := authorize(tt.other); resp.StatusCode != 200 {
				t.Errorf("%s, another client: status %d", tt.other, resp.StatusCode)
			}
			if n := counterValue(t, s, "verdict_rate_limited_total"); n != float64(len(tt.then)) {
				t.Errorf("verdict_rate_limited_total %v, want %d", n, len(tt.then))
			}
			if rec := send(t, s, http.MethodGet, "/ready", ""); rec.Code != 200 {
				t.Errorf("/ready limited: %d", rec.Code)
			}
		})
	}
}

func TestRateLimitClientKey(t *testing.T) {
	s := newTestServer(t, func(c *config.Config) {
		c.Server.RateLimit = &config.RateLimit{Key: limitByClient, Rate: 1, Burst: 1, MaxKeys: 10}
	})
	p := func(iss, sub string, claims map[string]any) *token.Principal {
		return &token.Principal{Issuer: iss, Subject: sub, Claims: claims}
	}
	steps := []struct {
		name    string
		p       *token.Principal
		limited bool
	}{
		{name: "client web", p: p("https://a", "alice", map[string]any{"client_id": "web"})},
		{name: "client web, another user", p: p("https://a", "bob", map[string]any{"client_id": "web"}), limited: true},
		{name: "azp web is the same client", p: p("https://a", "carol", map[string]any{"azp": "web"}), limited: true},
		{name: "client web of another issuer", p: p("https://b", "alice", map[string]any{"client_id": "web"})},
		{name: "no client: the subject", p: p("https://a", "alice", map[string]any{})},
		{name: "no client: the subject again", p: p("https://a", "alice", nil), limited: true},
	}
	for _, st := range steps {
		err := s.limitPrincipal(st.p)
		var limited *rateLimitedError
		if errors.As(err, &limited) != st.limited {
			t.Errorf("%s: limitPrincipal = %v, want limited %v", st.name, err, st.limited)
		}
	}
}

func TestAdminListener(t *testing.T) {
	s := newTestServer(t, func(c *config.Config) { c.Server.AdminAddr = "127.0.0.1:0" })
	admin := s.AdminHandler()
	if admin == nil {
		t.Fatal("no admin handler with admin_addr set")
	}
	tests := []struct {
		name    string
		handler http.Handler
		path    string
		status  int
	}{
		{name: "metrics absent from the public listener", handler: s, path: "/metrics", status: 404},
		{name: "status absent from the public listener", handler: s, path: "/v1/status", status: 404},
		{name: "health on the public listener", handler: s, path: "/health", status: 200},
		{name: "ready on the public listener", handler: s, path: "/ready", status: 200},
		{name: "metrics on the admin listener", handler: admin, path: "/metrics", status: 200},
		{name: "status on the admin listener", handler: admin, path: "/v1/status", status: 200},
		{name: "health on the admin listener", handler: admin, path: "/health", status: 200},
		{name: "ready on the admin listener", handler: admin, path: "/ready", status: 200},
		{name: "no decisions on the admin listener", handler: admin, path: "/access/v1/evaluation", status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if rec := send(t, tt.handler, http.MethodGet, tt.path, ""); rec.Code != tt.status {
				t.Errorf("GET %s: status %d, want %d", tt.path, rec.Code, tt.status)
			}
		})
	}
	if plain := newTestServer(t, nil); plain.AdminHandler() != nil || send(t, plain, http.MethodGet, "/metrics", "").Code != 200 {
		t.Error("without admin_addr, /metrics must be on the main handler and there must be no admin handler")
	}
}

// counterValue reads a counter without labels from the server's registry.
func counterValue(t *testing.T, s *Server, name string) float64 {
	t.Helper()
	families, err := s.deps.Gatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

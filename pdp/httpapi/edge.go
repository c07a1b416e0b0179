package httpapi

import (
	"crypto/tls"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/verdict-pdp/verdict/pdp/token"
)

// Values of server.rate_limit.key.
const (
	limitByAddr    = "remote_addr"
	limitByClient  = "client_id"
	limitBySubject = "subject"
)

// withTLSState gives handlers the TLS state of the connection as r.TLS. net/http sets it only
// when the connection is a *tls.Conn, and the framing check wraps the TLS connection; by the
// time a request was read the handshake is complete.
func withTLSState(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fc, ok := r.Context().Value(framingKey{}).(*framingConn); ok && r.TLS == nil {
			if tc, ok := fc.Conn.(*tls.Conn); ok {
				state := tc.ConnectionState()
				r = r.WithContext(r.Context())
				r.TLS = &state
			}
		}
		next.ServeHTTP(w, r)
	})
}

// rateLimitedError is a request over its client's server.rate_limit.
type rateLimitedError struct{ retryAfter time.Duration }

func (e *rateLimitedError) Error() string {
	return fmt.Sprintf("rate limited; retry after %s", e.retryAfter)
}

// seconds is Retry-After's value: whole seconds, at least one.
func (e *rateLimitedError) seconds() string {
	return strconv.Itoa(max(1, int(math.Ceil(e.retryAfter.Seconds()))))
}

// rateLimit takes a token of key's bucket, or says how long to wait.
func (s *Server) rateLimit(key string) error {
	ok, after := s.limiter.Allow(key)
	if ok {
		return nil
	}
	s.metrics.rateLimited.Inc()
	return &rateLimitedError{retryAfter: after}
}

// withAddrRateLimit limits requests by remote address before anything else is done for them,
// when server.rate_limit.key is remote_addr. Probes are never limited. The address is the
// peer's: behind a proxy every client shares the proxy's bucket.
func (s *Server) withAddrRateLimit(next http.Handler) http.Handler {
	if s.limiter == nil || s.cfg.Server.RateLimit.Key != limitByAddr {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" || r.URL.Path == "/ready" {
			next.ServeHTTP(w, r)
			return
		}
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		if err := s.rateLimit(host); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limitPrincipal limits a request by its verified token, when server.rate_limit.key is
// client_id (the client_id claim, else azp, else the subject) or subject. Keys are per issuer.
func (s *Server) limitPrincipal(p *token.Principal) error {
	if s.limiter == nil {
		return nil
	}
	id := "subject " + p.Subject
	switch s.cfg.Server.RateLimit.Key {
	case limitByClient:
		if client := firstString(p.Claims["client_id"], p.Claims["azp"]); client != "" {
			id = "client " + client
		}
	case limitBySubject:
	default:
		return nil
	}
	return s.rateLimit(p.Issuer + "\x00" + id)
}

// firstString is the first of vs that is a non-empty string.
func firstString(vs ...any) string {
	for _, v := range vs {
		if s, ok := v.(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// corsPrefixes are the paths browsers may call across origins: the native and AuthZEN APIs.
// Read-only.
var corsPrefixes = []string{"/v1/authorize", "/access/v1/", pathAuthZENConfig}

// withCORS answers cross-origin requests to the native and AuthZEN APIs from the origins in
// server.cors: preflights (OPTIONS with Origin and Access-Control-Request-Method) get 204 and
// the allowed methods and headers; other requests get Access-Control-Allow-Origin. An origin
// not allowed gets no CORS header, and its preflight goes on to the router, which refuses it.
func (s *Server) withCORS(next http.Handler) http.Handler {
	cfg := s.cfg.Server.CORS
	if cfg == nil {
		return next
	}
	allowed := map[string]bool{}
	for _, o := range cfg.AllowedOrigins {
		allowed[o] = true
	}
	methods := strings.Join(cfg.AllowedMethods, ", ")
	headers := strings.Join(cfg.AllowedHeaders, ", ")
	maxAge := strconv.Itoa(int(cfg.MaxAge.Seconds()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hasAnyPrefix(r.URL.Path, corsPrefixes) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		if origin == "" || !(allowed[origin] || allowed["*"]) {
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		if cfg.AllowCredentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
			h.Set("Access-Control-Expose-Headers", "WWW-Authenticate, Retry-After, X-Request-ID")
			next.ServeHTTP(w, r)
			return
		}
		h.Add("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")
		h.Set("Access-Control-Allow-Methods", methods)
		h.Set("Access-Control-Allow-Headers", headers)
		h.Set("Access-Control-Max-Age", maxAge)
		w.WriteHeader(http.StatusNoContent)
	})
}

func hasAnyPrefix(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

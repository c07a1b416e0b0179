package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/verdict-pdp/verdict/pdp/redact"
)

// asymmetricAlgorithms are the JWS algorithms an issuer may be pinned to. HMAC algorithms are
// refused: a shared secret beside public keys is how algorithm-confusion attacks start.
var asymmetricAlgorithms = map[string]bool{
	"RS256": true, "RS384": true, "RS512": true,
	"PS256": true, "PS384": true, "PS512": true,
	"ES256": true, "ES384": true, "ES512": true,
	"EdDSA": true,
}

// Validate reports every problem with the configuration at once, joined.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if c.Server.Addr == "" {
		add("server.addr: must be set")
	} else if _, _, err := net.SplitHostPort(c.Server.Addr); err != nil {
		add("server.addr: %q is not host:port (write 127.0.0.1:8181 or :8181)", c.Server.Addr)
	}
	if c.Server.MaxBodyBytes <= 0 {
		add("server.max_body_bytes: must be positive")
	}
	if ValueOr(c.Server.ShutdownDelay, DefaultShutdownDelay) < 0 {
		add("server.shutdown_delay: must not be negative")
	}
	if c.Server.MaxDataResponseBytes <= 0 {
		add("server.max_data_response_bytes: must be positive")
	}
	if c.Server.MaxBatch <= 0 || c.Server.BatchConcurrency <= 0 {
		add("server.max_batch and server.batch_concurrency: must be positive")
	}
	errs = append(errs, c.Server.validateGRPC()...)
	if strings.HasPrefix(c.Policy.Entrypoint, "/") || strings.Contains(c.Policy.Entrypoint, ".") {
		add("policy.entrypoint: %q must be a slash-separated rule path like verdict/authz/decision", c.Policy.Entrypoint)
	}
	if c.Policy.DecisionTimeout <= 0 {
		add("policy.decision_timeout: must be positive")
	}
	errs = append(errs, c.Policy.validate()...)
	errs = append(errs, c.validateEdge()...)
	if c.Tokens.MaxTokenBytes <= 0 || c.Tokens.CacheSize <= 0 || c.Tokens.CacheMaxBytes <= 0 {
		add("tokens.max_token_bytes, tokens.cache_size and tokens.cache_max_bytes: must be positive")
	}
	seen := map[string]bool{}
	for i, is := range c.Tokens.Issuers {
		if seen[is.Issuer] {
			add("tokens.issuers[%d]: issuer %q is configured twice", i, is.Issuer)
		}
		seen[is.Issuer] = true
		errs = append(errs, is.validate(fmt.Sprintf("tokens.issuers[%d]", i))...)
	}
	if in := c.Tokens.Introspection; in != nil {
		errs = append(errs, in.validate("tokens.introspection")...)
	}
	switch c.Revocation.Store {
	case "file":
		if c.Revocation.Path == "" {
			add("revocation.path: must be set for the file store")
		}
	case "redis":
		if c.Revocation.RedisURL == "" {
			add("revocation.redis_url: must be set for the redis store")
		} else if u, err := url.Parse(c.Revocation.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
			add("revocation.redis_url: %q is not a redis://, rediss:// or unix:// URL (write redis://host:6379/0)", redact.URL(c.Revocation.RedisURL))
		}
	default:
		add("revocation.store: %q is not file or redis", c.Revocation.Store)
	}
	oneOf(add, "revocation.on_store_error", c.Revocation.OnStoreError, "deny", "allow")
	oneOf(add, "authzen.pep_auth", c.AuthZEN.PEPAuth, "none", "api_key", "jwt", "mtls")
	oneOf(add, "authzen.response_context", c.AuthZEN.ResponseContext, "minimal", "full")
	if c.AuthZEN.PEPAuth == "api_key" && len(c.AuthZEN.APIKeysSHA256) == 0 {
		add("authzen.api_keys_sha256: must list at least one key when pep_auth is api_key")
	}
	if c.AuthZEN.PEPAuth == "jwt" && (c.AuthZEN.Issuer == "" || !seen[c.AuthZEN.Issuer]) {
		add("authzen.issuer: must name a configured issuer when pep_auth is jwt")
	}
	if c.AuthZEN.PEPAuth == "jwt" && c.AuthZEN.Scope == "" {
		// Without a scope every token of the issuer passes, an end user's too, and an end user
		// allowed in as a PEP may ask about any subject.
		add("authzen.scope: must be set when pep_auth is jwt, or any end-user token of authzen.issuer is trusted as a PEP")
	}
	errs = append(errs, validateDigests("authzen.api_keys_sha256", c.AuthZEN.APIKeysSHA256)...)
	errs = append(errs, validateDigests("admin.api_keys_sha256", c.Admin.APIKeysSHA256)...)
	errs = append(errs, c.DecisionLog.validate()...)
	return errors.Join(errs...)
}

func (d *DecisionLog) validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("decision_log."+format, args...)) }
	oneOf(add, "sink", d.Sink, "stdout", "file", "http", "none")
	if d.Sink == "file" && d.Path == "" {
		add("path: must be set when sink is file")
	}
	if d.Sink == "http" && (d.HTTP == nil || d.HTTP.URL == "") {
		add("http.url: must be set when sink is http")
	}
	if d.SampleAllowed != nil && (*d.SampleAllowed < 0 || *d.SampleAllowed > 1) {
		add("sample_allowed: must be between 0 and 1")
	}
	for _, p := range d.Mask {
		if root, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/"); !strings.HasPrefix(p, "/") || (root != "input" && root != "result") {
			add("mask: %q is not a JSON pointer under /input or /result", p)
		}
	}
	if d.MaxSizeMB < 0 || d.MaxBackups < 0 || d.MaxAgeDays < 0 {
		add("max_size_mb, max_backups and max_age_days: must not be negative")
	}
	if h := d.HTTP; h != nil && h.URL != "" {
		if _, err := parseHTTPURL(h.URL); err != nil {
			add("http.url: %v", err)
		}
		if (h.CertFile == "") != (h.KeyFile == "") {
			add("http.cert_file and http.key_file: set both or neither")
		}
		if h.BatchBytes <= 0 || h.BufferBytes < h.BatchBytes || h.SpillBytes < 0 {
			add("http: batch_bytes must be positive, buffer_bytes at least batch_bytes, spill_bytes not negative")
		}
	}
	return errs
}

func (p *Policy) validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("policy."+format, args...)) }
	if strings.Contains(p.Bundle, "://") {
		if _, err := parseHTTPURL(p.Bundle); err != nil {
			add("bundle: %v", err)
		}
	}
	if p.Watch && (p.Bundle == "" || strings.Contains(p.Bundle, "://")) {
		add("watch: needs policy.bundle to be a directory or a .tar.gz file (with --dev, a ./policies directory counts); an http(s) bundle is polled and the built-in one never changes")
	}
	if p.PollInterval <= 0 || p.DownloadTimeout <= 0 {
		add("poll_interval and download_timeout: must be positive")
	}
	if p.LongPollTimeout < 0 || (p.LongPollTimeout > 0 && p.LongPollTimeout < time.Second) {
		add("long_poll_timeout: must be 0 (off) or at least 1s")
	}
	if ValueOr(p.DecisionCacheBytes, 0) < 0 {
		add("decision_cache_bytes: must be 0 (off) or positive")
	}
	if p.MaxBundleBytes <= 0 {
		add("max_bundle_bytes: must be positive")
	}
	if v := p.Verification; v != nil {
		if v.PublicKey == "" && len(v.Keys) == 0 {
			add("verification: needs public_key or keys")
		}
		if v.KeyID != "" && v.PublicKey == "" {
			add("verification.key_id: names public_key, which is not set")
		}
		for id, file := range v.Keys {
			if id == "" || file == "" {
				add("verification.keys: key ids and files must not be empty")
			}
		}
	}
	return errs
}

func (is *Issuer) validate(at string) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(at+"."+format, args...)) }
	if is.Issuer == "" {
		add("issuer: must be set")
	}
	if len(is.Audiences) == 0 {
		add("audiences: at least one audience is required")
	}
	sources := 0
	for _, set := range []bool{is.JWKSURL != "", is.Discovery, is.JWKSFile != "", len(is.PublicKeys) > 0} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		add("keys: exactly one of jwks_url, discovery, jwks_file, public_keys must be set")
	}
	if is.JWKSURL != "" {
		if _, err := parseHTTPURL(is.JWKSURL); err != nil {
			add("jwks_url: %v", err)
		}
	}
	if is.Discovery {
		if _, err := parseHTTPURL(is.Issuer); err != nil {
			add("discovery: the issuer must be an http(s) URL: %v", err)
		}
	}
	if is.JWKSURL != "" || is.Discovery {
		if is.RefreshInterval <= 0 || is.RefreshRateLimit <= 0 || is.FetchTimeout <= 0 {
			add("refresh_interval, refresh_rate_limit and fetch_timeout: must be positive")
		}
		if is.MaxJWKSBytes <= 0 {
			add("max_jwks_bytes: must be positive")
		}
	}
	for _, alg := range is.Algorithms {
		if !asymmetricAlgorithms[alg] {
			add("algorithms: %q is not allowed (asymmetric JWS algorithms only)", alg)
		}
	}
	if l := ValueOr(is.Leeway, DefaultLeeway); l < 0 || l > MaxLeeway {
		add("leeway: must be between 0 and %s", MaxLeeway)
	}
	if is.MaxLifetime < 0 {
		add("max_lifetime: must not be negative")
	}
	return errs
}

func (in *Introspection) validate(at string) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(at+"."+format, args...)) }
	if _, err := parseHTTPURL(in.URL); err != nil {
		add("url: %v", err)
	}
	if in.ClientID == "" {
		add("client_id: must be set")
	}
	if in.Timeout <= 0 || in.MaxResponseBytes <= 0 || in.MaxConcurrent <= 0 {
		add("timeout, max_response_bytes and max_concurrent: must be positive")
	}
	if ValueOr(in.CacheTTL, DefaultIntrospectionTTL) < 0 {
		add("cache_ttl: must not be negative")
	}
	if ttl := ValueOr(in.InactiveCacheTTL, DefaultInactiveCacheTTL); ttl < 0 || ttl > MaxInactiveCacheTTL {
		add("inactive_cache_ttl: must be between 0 and %s", MaxInactiveCacheTTL)
	}
	if l := ValueOr(in.Leeway, DefaultLeeway); l < 0 || l > MaxLeeway {
		add("leeway: must be between 0 and %s", MaxLeeway)
	}
	for i, aud := range in.Audiences {
		if aud == "" {
			add("audiences[%d]: must not be empty", i)
		}
	}
	return errs
}

func parseHTTPURL(raw string) (*url.URL, error) {
	// Neither error repeats raw whole: a receiver URL may carry credentials.
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http(s) URL", redact.URL(raw))
	}
	return u, nil
}

func oneOf(add func(string, ...any), key, value string, allowed ...string) {
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	add("%s: %q is not one of %s", key, value, strings.Join(allowed, ", "))
}

func validateDigests(key string, digests []string) []error {
	var errs []error
	for i, d := range digests {
		if len(d) != 64 || strings.Trim(strings.ToLower(d), "0123456789abcdef") != "" {
			errs = append(errs, fmt.Errorf("%s[%d]: not a hex SHA-256 digest", key, i))
		}
	}
	return errs
}

// Warnings lists settings that are valid but weaken security, for serve to log loudly at start.
func (c *Config) Warnings() []string {
	var w []string
	if c.Revocation.OnStoreError == "allow" {
		w = append(w, "revocation.on_store_error is allow: while the store is unreachable, revoked tokens are accepted")
	}
	if c.AuthZEN.PEPAuth == "none" {
		w = append(w, "authzen.pep_auth is none: any caller that reaches the AuthZEN and Data APIs may ask about any subject")
	}
	for i, is := range c.Tokens.Issuers {
		if _, err := parseHTTPURL(is.Issuer); err != nil && is.Issuer != "" {
			w = append(w, fmt.Sprintf("tokens.issuers[%d].issuer: %q is not an http(s) URL; it must equal the iss claim exactly, and identity providers issue URLs", i, is.Issuer))
		}
		if is.RequireTyp != nil && *is.RequireTyp == "" {
			w = append(w, fmt.Sprintf("tokens.issuers %s: require_typ is empty, so ID tokens and other JWTs of this issuer are accepted as access tokens if their audience matches", is.Issuer))
		}
	}
	if len(c.Tokens.Issuers) == 0 && c.Tokens.Introspection == nil {
		w = append(w, "no token issuer or introspection is configured: every request that needs a token is refused")
	}
	if h := c.DecisionLog.HTTP; c.DecisionLog.Sink == "http" && h != nil && strings.HasPrefix(h.URL, "http://") {
		w = append(w, "decision_log.http.url is plain http: decision records, which hold verified claims, and the bearer token travel unencrypted")
	}
	return w
}

// validateGRPC checks the gRPC ext_authz keys.
func (s *Server) validateGRPC() []error {
	var errs []error
	if s.GRPCAddr != "" {
		if _, _, err := net.SplitHostPort(s.GRPCAddr); err != nil {
			errs = append(errs, fmt.Errorf("server.grpc_addr: %q is not host:port (write 127.0.0.1:9191 or :9191)", s.GRPCAddr))
		} else if s.GRPCAddr == s.Addr && !strings.HasSuffix(s.Addr, ":0") {
			errs = append(errs, fmt.Errorf("server.grpc_addr: %q is server.addr too", s.GRPCAddr))
		}
	}
	for i, h := range s.GRPCHeadersToRemove {
		if h == "" || strings.HasPrefix(h, ":") || strings.EqualFold(h, "host") || strings.ContainsAny(h, " \t:") {
			errs = append(errs, fmt.Errorf("server.grpc_headers_to_remove[%d]: %q is not a header Envoy can remove", i, h))
		}
	}
	return errs
}

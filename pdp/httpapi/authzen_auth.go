package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/verdict-pdp/verdict/pdp/token"
)

// Values of authzen.pep_auth.
const (
	pepAuthNone   = "none"
	pepAuthAPIKey = "api_key"
	pepAuthJWT    = "jwt"
	pepAuthMTLS   = "mtls"
)

// Client certificate refusals of pep_auth mtls.
var (
	errNoClientCert      = errors.New("a client certificate verified against server.tls.client_ca is required")
	errClientCertRefused = errors.New("the client certificate names no PEP accepted here")
)

// apiKeyHeader is the alternative to "Authorization: Bearer <key>" for PEP API keys.
const apiKeyHeader = "X-API-Key"

// scopeError means a valid token lacks the scope an endpoint requires (RFC 6750 §3.1: 403
// insufficient_scope).
type scopeError struct{ scope string }

func (e *scopeError) Error() string { return fmt.Sprintf("token lacks scope %q", e.scope) }

func (e *scopeError) challenge() string {
	return fmt.Sprintf(`Bearer realm="verdict", error="insufficient_scope", scope=%s`, token.QuoteParam(e.scope))
}

// apiKeyError is a missing or refused API key; name says which key ("admin API key"), so the
// answer names the credential really wanted rather than a bearer token.
type apiKeyError struct {
	name string
	err  error
}

func (e *apiKeyError) Error() string { return e.name + ": " + e.err.Error() }
func (e *apiKeyError) Unwrap() error { return e.err }

// pepAuth authenticates the policy enforcement point calling the AuthZEN API and the Data API,
// where the caller asserts the subject: none trusts every caller, api_key wants a key whose
// SHA-256 is configured, jwt wants a token of the configured issuer carrying the scope, mtls a
// verified client certificate carrying one of the configured names.
type pepAuth struct {
	s    *Server
	mode string
	// keys are the SHA-256 digests of accepted API keys.
	keys [][]byte
	// keyName names the key in errors: "API key", "admin API key".
	keyName string
	// certNames are the names a PEP's client certificate may carry.
	certNames []string
}

func newPEPAuth(s *Server) *pepAuth {
	return &pepAuth{s: s, mode: s.cfg.AuthZEN.PEPAuth, keys: parseDigests(s.cfg.AuthZEN.APIKeysSHA256), keyName: "API key",
		certNames: s.cfg.AuthZEN.ClientCertNames}
}

// check authenticates r, returning an error the one classifier maps to 401 or 403.
func (a *pepAuth) check(r *http.Request) error {
	switch a.mode {
	case pepAuthNone:
		return nil
	case pepAuthAPIKey:
		return a.checkAPIKey(r)
	case pepAuthJWT:
		return a.checkToken(r)
	case pepAuthMTLS:
		return a.checkClientCert(r)
	default:
		// config.Validate refuses other modes; a Server built around it fails closed.
		return fmt.Errorf("authzen.pep_auth %q is not a mode", a.mode)
	}
}

// checkAPIKey compares the key's digest with every configured digest in constant time.
func (a *pepAuth) checkAPIKey(r *http.Request) error {
	key := r.Header.Get(apiKeyHeader)
	if key == "" {
		var err error
		if key, err = token.BearerToken(r.Header, a.s.cfg.Tokens.MaxTokenBytes); err != nil {
			return &apiKeyError{name: a.keyName, err: err}
		}
	}
	if !a.matches(key) {
		return &apiKeyError{name: a.keyName, err: fmt.Errorf("%w: unknown key", token.ErrInvalidToken)}
	}
	return nil
}

// matches reports whether key is one of the configured keys, comparing its digest with every
// configured digest in constant time. The empty key never matches.
func (a *pepAuth) matches(key string) bool {
	if key == "" {
		return false
	}
	sum := sha256.Sum256([]byte(key))
	match := 0
	for _, k := range a.keys {
		match |= subtle.ConstantTimeCompare(sum[:], k)
	}
	return match == 1
}

// checkToken verifies the PEP's own bearer token: the configured issuer and scope. An empty
// scope (a configuration Validate refuses) matches no token.
func (a *pepAuth) checkToken(r *http.Request) error {
	p, err := a.s.principal(r)
	if err != nil {
		return err
	}
	cfg := a.s.cfg.AuthZEN
	if p.Issuer != cfg.Issuer {
		return fmt.Errorf("%w: PEP token from issuer %q, want %q", token.ErrInvalidToken, p.Issuer, cfg.Issuer)
	}
	if cfg.Scope == "" || !slices.Contains(scopes(p), cfg.Scope) {
		return &scopeError{scope: cfg.Scope}
	}
	return nil
}

// checkClientCert wants a client certificate that the TLS handshake verified against
// server.tls.client_ca (so never one merely presented) whose subject common name, or one of
// whose DNS or URI subject alternative names, is listed in authzen.client_cert_names.
func (a *pepAuth) checkClientCert(r *http.Request) error {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return errNoClientCert
	}
	leaf := r.TLS.VerifiedChains[0][0]
	names := append([]string{leaf.Subject.CommonName}, leaf.DNSNames...)
	for _, u := range leaf.URIs {
		names = append(names, u.String())
	}
	for _, n := range names {
		if n != "" && slices.Contains(a.certNames, n) {
			return nil
		}
	}
	return errClientCertRefused
}

// scopes lists the token's scopes: the mapped scopes property, else the scope or scp claim,
// each a space-separated string or an array of strings.
func scopes(p *token.Principal) []string {
	for _, v := range []any{p.Properties["scopes"], p.Claims["scope"], p.Claims["scp"]} {
		if list := token.ListClaim(v); len(list) > 0 {
			return list
		}
	}
	return nil
}

package httpapi

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"time"

	"github.com/verdict-pdp/verdict/pdp/revocation"
	"github.com/verdict-pdp/verdict/pdp/token"
)

// Paths of the revocation endpoints.
const (
	pathRevoke            = "/v1/revoke"
	pathAdminRevocations  = "/v1/admin/revocations"
	formContentType       = "application/x-www-form-urlencoded"
	maxNotBeforeAhead     = time.Minute
	revocationTypeToken   = "token"
	revocationTypeSubject = "subject"
)

// revokeFormFields are the RFC 7009 form fields; each may be given once, so a proxy that reads
// the first and Verdict cannot disagree on which token or hint was sent.
var revokeFormFields = []string{"token", "token_type_hint"}

// Revoker records revocations; *revocation.Store is one.
type Revoker interface {
	// RevokeToken revokes (iss, jti) until exp (zero: the store's retention).
	RevokeToken(ctx context.Context, iss, jti string, exp time.Time) (revocation.Record, error)
	// RevokeSubject revokes every token of (iss, sub) issued before notBefore.
	RevokeSubject(ctx context.Context, iss, sub string, notBefore time.Time) (revocation.Record, error)
}

// revocationRoutes registers the revocation endpoints when a store is configured. Both require
// an admin API key.
func (s *Server) revocationRoutes() {
	if s.deps.Revocations == nil {
		return
	}
	admin := newAdminAuth(s)
	s.router.HandleFunc(pathRevoke, admin.wrap(s.handleRevoke)).Methods(http.MethodPost)
	s.admin.HandleFunc(pathAdminRevocations, admin.wrap(s.handleAdminRevocation)).Methods(http.MethodPost)
}

// handleRevoke is RFC 7009 token revocation: the token comes in a form, Verdict verifies it to
// learn its issuer, jti and exp, and records the revocation. A token that does not verify
// (unknown, expired, forged, already revoked) is answered 200 like a revoked one, as the RFC
// asks: there is nothing left to revoke. A valid token Verdict cannot revoke alone (no jti, no
// issuer) is a 400 that says why. token_type_hint is accepted and ignored; Verdict only knows
// access tokens.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	raw, err := s.revokeForm(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.deps.Tokens.Verify(r.Context(), raw)
	switch {
	case errors.Is(err, token.ErrInvalidToken):
		s.log.Info("revocation of a token that does not verify: nothing to do",
			"request_id", requestID(r.Context()), "reason", err)
		writeJSON(w, http.StatusOK, struct{}{})
		return
	case err != nil:
		s.writeError(w, r, err)
		return
	case p.TokenID == "":
		s.writeError(w, r, badRequest("the token has no jti, so it cannot be revoked alone; revoke its subject at "+pathAdminRevocations))
		return
	case p.Issuer == "":
		// Only an introspection answer without iss, with no tokens.introspection.issuer to
		// stand in: a revocation is keyed by issuer, so there is none to record.
		s.writeError(w, r, badRequest("the token has no issuer, so it cannot be revoked; set tokens.introspection.issuer"))
		return
	}
	if _, err := s.deps.Revocations.RevokeToken(r.Context(), p.Issuer, p.TokenID, p.ExpiresAt); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// revokeForm reads the RFC 7009 form and returns its one token. The token must come in the
// body: a token in the URL would end up in access logs.
func (s *Server) revokeForm(w http.ResponseWriter, r *http.Request) (string, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != formContentType {
		return "", badRequest("the content type must be " + formContentType)
	}
	if r.URL.Query().Has("token") {
		return "", badRequest("the token must be sent in the request body, not in the URL")
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.Server.MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return "", errBodyTooLarge
		}
		return "", badRequest("the form body is malformed")
	}
	for _, name := range revokeFormFields {
		if len(r.PostForm[name]) > 1 {
			return "", badRequest(name + " is given more than once")
		}
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		return "", badRequest("token is required")
	}
	return tok, nil
}

// alreadyExpired is the note of a jti revocation whose exp is past: no token it matches can
// still be accepted, so the store kept nothing.
const alreadyExpired = "the token already expired; nothing recorded"

// revocationResponse is what the admin endpoint recorded.
type revocationResponse struct {
	Type string `json:"type"`
	revocation.Record
	// Note says why nothing was recorded, when nothing was.
	Note string `json:"note,omitempty"`
}

// handleAdminRevocation revokes one token, {"iss", "jti", "exp"?}, or everything a subject was
// issued before a time, {"iss", "sub", "not_before"?} (default: now).
func (s *Server) handleAdminRevocation(w http.ResponseWriter, r *http.Request) {
	var req revocationRequest
	if err := decodeJSON(w, r, s.cfg.Server.MaxBodyBytes, revocationShape, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.now()
	if err := req.validate(s.knownIssuer, now); err != nil {
		s.writeError(w, r, err)
		return
	}
	var rec revocation.Record
	var err error
	resp := revocationResponse{Type: revocationTypeToken}
	if req.TokenID != "" {
		rec, err = s.deps.Revocations.RevokeToken(r.Context(), req.Issuer, req.TokenID, req.Expires.Time())
	} else {
		resp.Type = revocationTypeSubject
		notBefore := now
		if req.NotBefore != nil {
			notBefore = req.NotBefore.Time()
		}
		rec, err = s.deps.Revocations.RevokeSubject(r.Context(), req.Issuer, req.Subject, notBefore)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp.Record = rec
	if req.Expires != nil && !rec.Expires.After(now) {
		resp.Note = alreadyExpired
	}
	writeJSON(w, http.StatusOK, resp)
}

// knownIssuer reports whether iss can appear on a verified token: a configured issuer, or any
// issuer when introspection is configured without one. A typo in a revocation would otherwise
// be recorded and match nothing.
func (s *Server) knownIssuer(iss string) bool {
	for _, is := range s.cfg.Tokens.Issuers {
		if is.Issuer == iss {
			return true
		}
	}
	if in := s.cfg.Tokens.Introspection; in != nil {
		return in.Issuer == "" || in.Issuer == iss
	}
	return false
}

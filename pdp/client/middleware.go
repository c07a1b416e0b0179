package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Mapper maps an incoming request to the action and resource to authorize. An error denies
// the request (403).
type Mapper func(*http.Request) (Request, error)

// ObligationHook receives the obligations of an allowed request before the handler runs. It
// must fulfil them (log, redact, ...) or return an error, which denies the request (403).
type ObligationHook func(r *http.Request, obligations []Obligation) error

// MiddlewareOption configures Middleware.
type MiddlewareOption func(*middleware)

// WithObligationHook sets the hook that fulfils obligations. Without one, an allow that
// carries obligations is denied: nothing would fulfil them.
func WithObligationHook(h ObligationHook) MiddlewareOption {
	return func(m *middleware) { m.hook = h }
}

// WithRealm sets the realm of the WWW-Authenticate challenges (default "verdict").
func WithRealm(realm string) MiddlewareOption {
	return func(m *middleware) { m.realm = realm }
}

type middleware struct {
	c      *Client
	next   http.Handler
	mapper Mapper
	hook   ObligationHook
	realm  string
}

type decisionKey struct{}

// DecisionFrom returns the decision that let the request through, in a handler behind
// Middleware.
func DecisionFrom(ctx context.Context) (Decision, bool) {
	d, ok := ctx.Value(decisionKey{}).(Decision)
	return d, ok
}

// Middleware enforces Verdict's decisions in front of next, fail closed: the request reaches
// next only on an allow whose obligations the hook fulfilled. No bearer token is 401; a token
// Verdict refuses is 401 with its challenge; a deny is 403, or 401 with an RFC 9470 step-up
// challenge when the deny asks for step-up; a mapping or obligation failure is 403; Verdict
// unreachable or failing is 503.
func (c *Client) Middleware(next http.Handler, mapper Mapper, opts ...MiddlewareOption) http.Handler {
	m := &middleware{c: c, next: next, mapper: mapper, realm: "verdict"}
	for _, o := range opts {
		o(m)
	}
	return m
}

func (m *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, ok := bearerToken(r)
	if !ok {
		m.refuse(w, http.StatusUnauthorized, "Bearer realm="+quote(m.realm))
		return
	}
	req, err := m.mapper(r)
	if err != nil {
		m.refuse(w, http.StatusForbidden, "")
		return
	}
	d, err := m.c.Authorize(r.Context(), token, req)
	if err != nil {
		m.failed(w, err)
		return
	}
	if !d.Allow {
		if ch := stepUpChallenge(m.realm, d.Obligations); ch != "" {
			m.refuse(w, http.StatusUnauthorized, ch)
			return
		}
		m.refuse(w, http.StatusForbidden, "")
		return
	}
	if len(d.Obligations) > 0 && (m.hook == nil || m.hook(r, d.Obligations) != nil) {
		m.refuse(w, http.StatusForbidden, "")
		return
	}
	m.next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), decisionKey{}, d)))
}

// failed answers a call that gave no decision: Verdict's own 401 passes through with its
// challenge, anything else is the service's problem (503) or a bad mapping (403).
func (m *middleware) failed(w http.ResponseWriter, err error) {
	var apiErr *Error
	switch {
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnauthorized:
		m.refuse(w, http.StatusUnauthorized, apiErr.Challenge)
	case errors.As(err, &apiErr) && apiErr.StatusCode < 500:
		m.refuse(w, http.StatusForbidden, "")
	default:
		m.refuse(w, http.StatusServiceUnavailable, "")
	}
}

func (m *middleware) refuse(w http.ResponseWriter, status int, challenge string) {
	if challenge != "" {
		w.Header().Set("WWW-Authenticate", challenge)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, http.StatusText(status), status)
}

// bearerToken reads "Authorization: Bearer <token>".
func bearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	return tok, ok && strings.EqualFold(scheme, "Bearer") && tok != ""
}

// stepUpChallenge is the RFC 9470 challenge of a step_up obligation, or "".
func stepUpChallenge(realm string, obligations []Obligation) string {
	for _, o := range obligations {
		if o.Type() != "step_up" {
			continue
		}
		ch := "Bearer realm=" + quote(realm) + `, error="insufficient_user_authentication"`
		if acr := acrValues(o["acr_values"]); acr != "" {
			ch += ", acr_values=" + quote(acr)
		}
		if age, ok := o["max_age"]; ok && age != nil {
			ch += ", max_age=" + quote(fmt.Sprint(age))
		}
		return ch
	}
	return ""
}

func acrValues(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return strings.Join(out, " ")
	default:
		return ""
	}
}

// quote makes an auth-param quoted-string (RFC 9110 §5.6.4).
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

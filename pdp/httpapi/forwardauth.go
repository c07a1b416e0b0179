package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/forwardauth"
	"github.com/verdict-pdp/verdict/pdp/request"
	"github.com/verdict-pdp/verdict/pdp/token"
	"github.com/verdict-pdp/verdict/pdp/tracing"
)

// forwardAuthPath is the forward-auth endpoint. Envoy's HTTP ext_authz appends the original
// path to it (path_prefix), so everything below it is served too.
const forwardAuthPath = "/v1/forward-auth"

// handleForwardAuth answers a proxy's subrequest through the forward-auth core: 200 with the
// subject and decision id, 401 with a challenge (no or bad token, or step-up needed), 403 on
// deny, when no route rule maps the request, or when the original request is missing or
// ambiguous (fail closed). A 403 carries X-Verdict-Reason, since a proxy such as nginx passes
// only the status of a 403 to the client: its reason and decision id reach the proxy's logs
// through these headers.
func (a *standardAPIs) handleForwardAuth(w http.ResponseWriter, r *http.Request) {
	// With tracing on, the proxy can pass this span on to the upstream (auth_request_set).
	tracing.Inject(r.Context(), w.Header())
	method, uri := envoyTarget(r)
	o, err := a.forward.Check(r.Context(), forwardauth.Request{
		Endpoint: r.URL.Path, Method: method, URI: uri, DefaultMethod: r.Method, Host: r.Host, Header: r.Header,
	})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if o.DecisionID != "" {
		w.Header().Set(forwardauth.HeaderDecisionID, o.DecisionID)
	}
	if !o.Allowed {
		if o.Reason != "" {
			w.Header().Set(forwardauth.HeaderReason, o.Reason)
		}
		a.writeError(w, r, o.Refusal)
		return
	}
	w.Header().Set(forwardauth.HeaderSubject, o.Subject)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// envoyTarget is the original method and URI of an Envoy check request, whose path is the
// original one appended to forwardAuthPath, or "" when the path is forwardAuthPath itself.
// The URI is taken raw, as sent, so that encoded slashes stay what they are.
func envoyTarget(r *http.Request) (method, uri string) {
	raw := r.RequestURI
	if !strings.HasPrefix(raw, "/") {
		raw = r.URL.RequestURI() // a request built in Go, or an absolute-form target
	}
	rest, ok := strings.CutPrefix(raw, forwardAuthPath+"/")
	if !ok {
		return "", ""
	}
	return r.Method, "/" + rest
}

// ForwardAuth returns the forward-auth core this server's /v1/forward-auth runs on, for
// another transport (the gRPC ext_authz service) to answer through the same route rules,
// decisions and decision log.
func (s *Server) ForwardAuth() *forwardauth.Checker { return s.forward }

// Principal verifies the bearer token of h as every API does (forwardauth.Service).
func (a *standardAPIs) Principal(ctx context.Context, h http.Header) (*token.Principal, error) {
	return a.verify(ctx, h)
}

// Routes returns the route table of the active policy (forwardauth.Service).
func (a *standardAPIs) Routes(ctx context.Context) (*forwardauth.Routes, error) {
	data, err := a.current(ctx)
	if err != nil {
		return nil, err
	}
	if data.routeErr != nil {
		return nil, data.routeErr
	}
	return data.routes, nil
}

// EnrichResource fills in the resource's properties from the active entity directory, when
// it is well formed (forwardauth.Service).
func (a *standardAPIs) EnrichResource(ctx context.Context, in *engine.Input) {
	if data, err := a.current(ctx); err == nil && data.dirErr == nil {
		data.dir.EnrichResource(in)
	}
}

// Decide sets the principal and the time on in and decides it (forwardauth.Service). A check
// from another transport (gRPC) has no request id yet: its decision is logged under the
// proxy's X-Request-ID, as an HTTP one is, or a new id.
func (a *standardAPIs) Decide(ctx context.Context, req forwardauth.Request, p *token.Principal, in *engine.Input) (string, engine.Decision, error) {
	if requestID(ctx) == "" {
		ctx = context.WithValue(ctx, requestIDKey{}, requestIDFrom(req.Header))
	}
	request.ApplyPrincipal(in, p)
	a.stampTime(in)
	return a.decide(ctx, req.Endpoint, in)
}

// Refusal maps err as the error writer does (forwardauth.Service).
func (a *standardAPIs) Refusal(err error) (int, string) {
	e := classify(err)
	return e.status, e.challenge
}

package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/verdict-pdp/verdict/pdp/engine"
)

// forwardAuthPath is the forward-auth endpoint. Envoy's HTTP ext_authz appends the original
// path to it (path_prefix), so everything below it is served too.
const forwardAuthPath = "/v1/forward-auth"

// Response headers of an allowed forward-auth check, for auth_request_set and authResponseHeaders.
const (
	headerSubject    = "X-Verdict-Subject"
	headerDecisionID = "X-Verdict-Decision-Id"
)

// errAccessDenied is a forward-auth deny: 403. It wraps the reason for the log.
var errAccessDenied = errors.New("access denied")

// stepUpError is a deny the subject can overcome by authenticating again: forward auth answers
// 401 with the RFC 9470 challenge.
type stepUpError struct {
	acrValues []string
	maxAge    string
}

func (e *stepUpError) Error() string { return "step-up authentication required" }

func (e *stepUpError) challenge() string {
	c := `Bearer realm="verdict", error="insufficient_user_authentication", ` +
		`error_description="a stronger or more recent authentication is required"`
	if len(e.acrValues) > 0 {
		c += ", acr_values=" + quoteParam(strings.Join(e.acrValues, " "))
	}
	if e.maxAge != "" {
		c += ", max_age=" + quoteParam(e.maxAge)
	}
	return c
}

// stepUpFrom returns the step_up obligation of a decision as an error, or nil.
func stepUpFrom(obligations []map[string]any) *stepUpError {
	for _, o := range obligations {
		if o["type"] != "step_up" {
			continue
		}
		e := &stepUpError{acrValues: stringList(o["acr_values"])}
		switch v := o["max_age"].(type) {
		case nil:
		case string:
			e.maxAge = v
		default:
			e.maxAge = fmt.Sprint(v)
		}
		return e
	}
	return nil
}

// originalRequest is the request the proxy asks about.
type originalRequest struct {
	method, path, host, ip string
}

// readOriginal finds the original request: nginx sends X-Original-Method and X-Original-URI,
// Traefik X-Forwarded-Method and X-Forwarded-Uri, Envoy the method and the path itself (below
// forwardAuthPath). The path is decoded and cleaned before matching, as the upstream sees it.
func readOriginal(r *http.Request) (originalRequest, error) {
	o := originalRequest{
		method: strings.ToUpper(firstHeader(r, "X-Original-Method", "X-Forwarded-Method")),
		host:   firstHeader(r, "X-Forwarded-Host", "X-Original-Host"),
		ip:     clientIP(r),
	}
	uri := firstHeader(r, "X-Original-URI", "X-Forwarded-Uri")
	if rest, ok := strings.CutPrefix(r.URL.EscapedPath(), forwardAuthPath+"/"); ok && uri == "" {
		uri = "/" + rest
	}
	if o.method == "" {
		o.method = r.Method
	}
	if o.host == "" {
		o.host = r.Host
	}
	if uri == "" {
		return o, fmt.Errorf("%w: the proxy sent no original URI", errAccessDenied)
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil || u.Path == "" {
		return o, fmt.Errorf("%w: unparsable original URI", errAccessDenied)
	}
	o.path = u.Path
	return o, nil
}

// clientIP is the first address of X-Forwarded-For (the client as the first proxy saw it), or
// X-Real-IP. Only as trustworthy as the proxy that sets it: see docs/api.md.
func clientIP(r *http.Request) string {
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		first, _, _ := strings.Cut(xff, ",")
		return strings.TrimSpace(first)
	}
	return r.Header.Get("X-Real-IP")
}

func firstHeader(r *http.Request, names ...string) string {
	for _, n := range names {
		if v := r.Header.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// handleForwardAuth answers a proxy's subrequest: 200 with the subject and decision id, 401
// with a challenge (no or bad token, or step-up needed), 403 on deny or when no route rule
// maps the request (fail closed).
func (a *standardAPIs) handleForwardAuth(w http.ResponseWriter, r *http.Request) {
	p, err := a.principal(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	in, err := a.forwardInput(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	ApplyPrincipal(in, p)
	id, d, err := a.decide(r.Context(), r.URL.Path, in)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set(headerDecisionID, id)
	if !d.Allow {
		if stepUp := stepUpFrom(d.Obligations); stepUp != nil {
			a.writeError(w, r, stepUp)
			return
		}
		a.writeError(w, r, fmt.Errorf("%w: %s", errAccessDenied, strings.Join(d.Reasons, "; ")))
		return
	}
	w.Header().Set(headerSubject, p.Subject)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// forwardInput maps the original request through the bundle's route rules to an input
// without subject; the resource's properties come from the entity directory.
func (a *standardAPIs) forwardInput(r *http.Request) (*engine.Input, error) {
	o, err := readOriginal(r)
	if err != nil {
		return nil, err
	}
	data, err := a.current(r.Context())
	if err != nil {
		return nil, err
	}
	if data.routeErr != nil {
		return nil, data.routeErr
	}
	m := matchRoute(data.routes, o.method, o.path)
	if m == nil {
		return nil, fmt.Errorf("%w: no route rule matches %s %s", errAccessDenied, o.method, o.path)
	}
	in := &engine.Input{
		Action:   engine.Action{Name: m.rule.action, Properties: map[string]any{"method": o.method}},
		Resource: engine.Resource{Type: m.rule.resourceType, ID: m.params["id"]},
		Context: map[string]any{"method": o.method, "path": o.path, "host": o.host,
			"route": map[string]any{"path": m.rule.template, "params": m.params}},
	}
	if o.ip != "" {
		in.Context["ip"] = o.ip
	}
	if data.dirErr == nil {
		data.dir.enrichResource(in)
	}
	a.stampTime(in)
	return in, nil
}

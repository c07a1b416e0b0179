package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/tracing"
)

// forwardAuthPath is the forward-auth endpoint. Envoy's HTTP ext_authz appends the original
// path to it (path_prefix), so everything below it is served too.
const forwardAuthPath = "/v1/forward-auth"

// Response headers of a forward-auth check, for auth_request_set and authResponseHeaders: the
// subject of an allowed one, the decision id whenever a decision was made, and why a 403 is one.
const (
	headerSubject    = "X-Verdict-Subject"
	headerDecisionID = "X-Verdict-Decision-Id"
	headerReason     = "X-Verdict-Reason"
)

// Forward-auth denials: 403. errAccessDenied alone is an original request refused before any
// route is looked up; each wraps the detail for the log.
var (
	errAccessDenied = errors.New("access denied")
	errNoRoute      = fmt.Errorf("%w: no route rule matches", errAccessDenied)
	errPolicyDenied = fmt.Errorf("%w: the policy denied the request", errAccessDenied)
)

// denialReason is the X-Verdict-Reason value of a forward-auth 403, or "" for other errors.
func denialReason(err error) string {
	switch {
	case errors.Is(err, errNoRoute):
		return "no-route"
	case errors.Is(err, errPolicyDenied):
		return "denied"
	case errors.Is(err, errAccessDenied):
		return "refused"
	default:
		return ""
	}
}

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

// handleForwardAuth answers a proxy's subrequest: 200 with the subject and decision id, 401
// with a challenge (no or bad token, or step-up needed), 403 on deny, when no route rule maps
// the request, or when the original request is missing or ambiguous (fail closed).
func (a *standardAPIs) handleForwardAuth(w http.ResponseWriter, r *http.Request) {
	// With tracing on, the proxy can pass this span on to the upstream (auth_request_set).
	tracing.Inject(r.Context(), w.Header())
	p, err := a.principal(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	in, err := a.forwardInput(r)
	if err != nil {
		a.writeDenial(w, r, err)
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
		a.writeDenial(w, r, fmt.Errorf("%w: %s", errPolicyDenied, strings.Join(d.Reasons, "; ")))
		return
	}
	w.Header().Set(headerSubject, p.Subject)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// writeDenial is writeError with X-Verdict-Reason set when err is a denial, since a proxy
// such as nginx passes only the status of a 403 to the client: its reason and decision id
// reach the proxy's logs through these headers.
func (a *standardAPIs) writeDenial(w http.ResponseWriter, r *http.Request, err error) {
	if reason := denialReason(err); reason != "" {
		w.Header().Set(headerReason, reason)
	}
	a.writeError(w, r, err)
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
	m := matchRoute(data.routes, o.method, o.segments)
	if m == nil {
		return nil, fmt.Errorf("%w %s %s", errNoRoute, o.method, o.path)
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

// Package forwardauth is forward auth without a transport: a proxy asks whether the original
// request it holds may pass, and Check answers from the bearer token, the bundle's route rules
// and the policy. The HTTP endpoint /v1/forward-auth (nginx, Traefik, Envoy's HTTP ext_authz)
// and the gRPC ext_authz service (Envoy, Istio, Contour) are thin adapters over the one
// Checker, so both refuse the same paths and reach the same decisions. It verifies tokens and
// decides through the Service its caller provides (httpapi's service step: token
// verification, the decision, its count and its log record); it knows nothing of HTTP servers
// or gRPC.
package forwardauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/token"
)

// Headers of a forward-auth answer, for auth_request_set, authResponseHeaders and Envoy's
// allowed headers: the subject of an allowed request, the decision id whenever a decision was
// made, and why a 403 is one.
const (
	HeaderSubject    = "X-Verdict-Subject"
	HeaderDecisionID = "X-Verdict-Decision-Id"
	HeaderReason     = "X-Verdict-Reason"
)

// Forward-auth denials: 403. ErrAccessDenied alone is an original request refused before any
// route is looked up; each wraps the detail for the log.
var (
	ErrAccessDenied = errors.New("access denied")
	ErrNoRoute      = fmt.Errorf("%w: no route rule matches", ErrAccessDenied)
	ErrPolicyDenied = fmt.Errorf("%w: the policy denied the request", ErrAccessDenied)
)

// Request is an original request as a transport delivers it.
type Request struct {
	// Endpoint names what the check came through, for the decision log: the HTTP path, or the
	// gRPC method.
	Endpoint string
	// Method and URI are what the check request itself says of the original request (Envoy's
	// method and path, raw with its query); "" when it says nothing and headers must.
	Method, URI string
	// DefaultMethod is the method when no source names one: the check request's own.
	DefaultMethod string
	// Host is the original host when no X-Forwarded-Host or X-Original-Host header names one.
	Host string
	// Peer is the client's address when no X-Forwarded-For or X-Real-IP header names one;
	// "" when the transport does not know it.
	Peer string
	// Header holds the headers the proxy sent: the bearer token and the original-request
	// headers of nginx and Traefik.
	Header http.Header
}

// Outcome is the answer to one check. Status is the HTTP status the proxy should answer: 200
// when Allowed, else 400, 401 or 403, with Challenge for WWW-Authenticate and Reason for
// X-Verdict-Reason when set. Refusal is why a request was refused, for the error writer and
// the log; it may hold detail that is not for the client.
type Outcome struct {
	Allowed    bool
	Status     int
	DecisionID string // "" when no decision was made
	Revision   string
	Subject    string
	Challenge  string
	Reason     string
	Refusal    error
}

// Service is the service step the Checker runs through: token verification, the active
// bundle's data, the decision with its count and log record, and the one error taxonomy.
type Service interface {
	// Principal verifies the bearer token of h (RFC 6750), with everything the transports
	// apply to a verified principal.
	Principal(ctx context.Context, h http.Header) (*token.Principal, error)
	// Routes returns the route table of the active policy.
	Routes(ctx context.Context) (*Routes, error)
	// EnrichResource fills in the resource's properties from the active entity directory.
	EnrichResource(ctx context.Context, in *engine.Input)
	// Decide sets the principal and the time on in, evaluates it, then counts and logs the
	// decision for req (under its Endpoint and request id). An error is always returned with
	// a deny.
	Decide(ctx context.Context, req Request, p *token.Principal, in *engine.Input) (string, engine.Decision, error)
	// Refusal is the HTTP status and WWW-Authenticate challenge of err; a status of 500 or more
	// means Verdict could not decide.
	Refusal(err error) (status int, challenge string)
}

// Deps are the collaborators of a Checker.
type Deps struct {
	Service Service
}

// Checker answers forward-auth checks.
type Checker struct{ deps Deps }

// New builds a Checker.
func New(deps Deps) *Checker { return &Checker{deps: deps} }

// Check answers whether req may pass: the token is verified first (no or a bad token is a 401
// whatever the request), then the original request is read strictly and mapped through the
// route rules to an action and resource, and the policy decides for the token's subject. A
// refusal is an Outcome; an error means Verdict could not decide (no policy, a failed
// evaluation, keys or the revocation store out of reach), and its Outcome has the status.
func (c *Checker) Check(ctx context.Context, req Request) (Outcome, error) {
	o, err := c.check(ctx, req)
	if err == nil {
		return o, nil
	}
	o.Allowed = false
	o.Status, o.Challenge = c.deps.Service.Refusal(err)
	if o.Status >= http.StatusInternalServerError {
		return o, err
	}
	o.Reason, o.Refusal = denialReason(err), err
	return o, nil
}

func (c *Checker) check(ctx context.Context, req Request) (Outcome, error) {
	p, err := c.deps.Service.Principal(ctx, req.Header)
	if err != nil {
		return Outcome{}, err
	}
	in, err := c.input(ctx, req)
	if err != nil {
		return Outcome{}, err
	}
	id, d, err := c.deps.Service.Decide(ctx, req, p, in)
	if err != nil {
		return Outcome{}, err
	}
	o := Outcome{DecisionID: id, Revision: d.Revision, Subject: p.Subject}
	if !d.Allow {
		if stepUp := stepUpFrom(d.Obligations); stepUp != nil {
			return o, stepUp
		}
		return o, fmt.Errorf("%w: %s", ErrPolicyDenied, strings.Join(d.Reasons, "; "))
	}
	o.Allowed, o.Status = true, http.StatusOK
	return o, nil
}

// input maps the original request through the bundle's route rules to an input without
// subject; the resource's properties come from the entity directory.
func (c *Checker) input(ctx context.Context, req Request) (*engine.Input, error) {
	o, err := readOriginal(req)
	if err != nil {
		return nil, err
	}
	routes, err := c.deps.Service.Routes(ctx)
	if err != nil {
		return nil, err
	}
	m := routes.match(o.method, o.segments)
	if m == nil {
		return nil, fmt.Errorf("%w %s %s", ErrNoRoute, o.method, o.path)
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
	c.deps.Service.EnrichResource(ctx, in)
	return in, nil
}

// denialReason is the X-Verdict-Reason value of a forward-auth 403, or "" for other errors.
func denialReason(err error) string {
	switch {
	case errors.Is(err, ErrNoRoute):
		return "no-route"
	case errors.Is(err, ErrPolicyDenied):
		return "denied"
	case errors.Is(err, ErrAccessDenied):
		return "refused"
	default:
		return ""
	}
}

// StepUpError is a deny the subject can overcome by authenticating again: forward auth answers
// 401 with the RFC 9470 challenge.
type StepUpError struct {
	acrValues []string
	maxAge    string
}

func (e *StepUpError) Error() string { return "step-up authentication required" }

// Challenge is the RFC 9470 WWW-Authenticate challenge of the step-up.
func (e *StepUpError) Challenge() string {
	c := `Bearer realm="verdict", error="insufficient_user_authentication", ` +
		`error_description="a stronger or more recent authentication is required"`
	if len(e.acrValues) > 0 {
		c += ", acr_values=" + token.QuoteParam(strings.Join(e.acrValues, " "))
	}
	if e.maxAge != "" {
		c += ", max_age=" + token.QuoteParam(e.maxAge)
	}
	return c
}

// stepUpFrom returns the step_up obligation of a decision as an error, or nil.
func stepUpFrom(obligations []map[string]any) *StepUpError {
	for _, o := range obligations {
		if o["type"] != "step_up" {
			continue
		}
		e := &StepUpError{acrValues: token.ListClaim(o["acr_values"])}
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

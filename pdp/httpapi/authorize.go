package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"time"

	"github.com/verdict-pdp/verdict/pdp/audit"
	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/strictjson"
	"github.com/verdict-pdp/verdict/pdp/token"
)

// authorizeRequest is the native request body: the same shapes as the policy input, with
// "action": "read" accepted as shorthand. The subject always comes from the verified token.
type authorizeRequest struct {
	Action   actionField      `json:"action"`
	Resource *engine.Resource `json:"resource"`
	Context  map[string]any   `json:"context"`
}

// The shapes of the native bodies for strictjson: the members each object defines, spelt
// exactly; properties and context are free-form. Read-only.
var (
	entityShape      = strictjson.Shape{"type": nil, "id": nil, "properties": nil}
	actionShape      = strictjson.Shape{"name": nil, "properties": nil}
	authorizeShape   = strictjson.Shape{"action": actionShape, "resource": entityShape, "context": nil}
	batchOptionShape = strictjson.Shape{"evaluations_semantic": nil}
	nativeBatchShape = strictjson.Shape{"evaluations": authorizeShape, "options": batchOptionShape}
)

// actionField decodes an action given as an object or as its bare name.
type actionField engine.Action

func (a *actionField) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte(`"`)) {
		return json.Unmarshal(b, &a.Name)
	}
	var obj engine.Action
	if err := json.Unmarshal(b, &obj); err != nil {
		return badRequest("action must be a JSON object with a string name, or a string")
	}
	*a = actionField(obj)
	return nil
}

func (req *authorizeRequest) validate() error {
	switch {
	case req.Action.Name == "":
		return badRequest("action.name is required")
	case req.Resource == nil:
		return badRequest("resource is required")
	case req.Resource.Type == "":
		return badRequest("resource.type is required")
	}
	return nil
}

// authorizeResponse is the native decision.
type authorizeResponse struct {
	DecisionID  string           `json:"decision_id"`
	Allow       bool             `json:"allow"`
	Reasons     []string         `json:"reasons"`
	Obligations []map[string]any `json:"obligations"`
	Risk        map[string]any   `json:"risk,omitempty"`
	Revision    string           `json:"revision"`
}

func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	p, err := s.principal(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req authorizeRequest
	if err := decodeJSON(w, r, s.cfg.Server.MaxBodyBytes, authorizeShape, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := req.validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, d, err := s.decide(r.Context(), r.URL.Path, s.input(p, &req))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, nativeResponse(id, d))
}

func nativeResponse(id string, d engine.Decision) authorizeResponse {
	resp := authorizeResponse{DecisionID: id, Allow: d.Allow, Reasons: d.Reasons, Obligations: d.Obligations,
		Risk: d.Risk, Revision: d.Revision}
	if resp.Reasons == nil {
		resp.Reasons = []string{}
	}
	if resp.Obligations == nil {
		resp.Obligations = []map[string]any{}
	}
	return resp
}

// principal verifies the request's bearer token.
func (s *Server) principal(r *http.Request) (*token.Principal, error) {
	raw, err := token.BearerToken(r.Header, s.cfg.Tokens.MaxTokenBytes)
	if err != nil {
		return nil, err
	}
	return s.deps.Tokens.Verify(r.Context(), raw)
}

// input builds the policy input: the subject from the verified principal, the rest from the
// request, context.time from the server's clock.
func (s *Server) input(p *token.Principal, req *authorizeRequest) *engine.Input {
	in := &engine.Input{Action: engine.Action(req.Action), Resource: *req.Resource, Context: req.Context}
	ApplyPrincipal(in, p)
	s.stampTime(in)
	return in
}

// stampTime sets context.time to the server's clock on every API: risk rules judge off-hours
// access and MFA freshness by it, so no caller chooses it. The caller's context is copied
// first; batch items share their default context.
func (s *Server) stampTime(in *engine.Input) {
	ctx := make(map[string]any, len(in.Context)+1)
	maps.Copy(ctx, in.Context)
	ctx["time"] = s.now().UTC().Format(time.RFC3339)
	in.Context = ctx
}

// ApplyPrincipal sets the input's subject and token from a verified principal, replacing
// whatever the caller said about the subject.
func ApplyPrincipal(in *engine.Input, p *token.Principal) {
	in.Subject = engine.Subject{Type: "user", ID: p.Subject, Properties: p.Properties}
	in.Token = &engine.Token{Kind: p.Kind, Issuer: p.Issuer, Claims: p.Claims}
}

// decide evaluates one input, then counts and logs the decision. An error is always returned
// with a deny.
func (s *Server) decide(ctx context.Context, path string, in *engine.Input) (string, engine.Decision, error) {
	start := s.now()
	id := newID()
	d, err := s.deps.Policy.Decide(ctx, in)
	if err != nil {
		d.Allow = false
	}
	result := "deny"
	switch {
	case errors.Is(err, context.Canceled):
		// The caller went away: not a policy failure, so not counted with the errors that
		// operators alert on.
		result = "cancelled"
	case err != nil:
		result = "error"
	case d.Allow:
		result = "allow"
	}
	s.metrics.decisions.WithLabelValues(result).Inc()
	rec := audit.Record{
		Time: start, DecisionID: id, RequestID: requestID(ctx), Path: path, Revision: d.Revision,
		Allow: d.Allow, Reasons: d.Reasons, Obligations: d.Obligations, Risk: d.Risk,
		Subject: in.Subject.ID, Action: in.Action.Name, Resource: in.Resource.Type + "/" + in.Resource.ID,
		DurationMS: float64(s.now().Sub(start).Microseconds()) / 1000,
	}
	if in.Token != nil {
		rec.Issuer = in.Token.Issuer
	}
	if err != nil {
		rec.Error = classify(err).code
	}
	s.deps.Audit.Log(rec)
	return id, d, err
}

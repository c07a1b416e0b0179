package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"time"

	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/stage"
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

// validate checks the members a decision needs. resource.id is required as AuthZEN requires
// it: every decision is about one named resource, which the directory, the decision log and
// the policy's reasons name; a question about a type rather than an instance (creating one)
// names the collection or a placeholder id.
func (req *authorizeRequest) validate() error {
	switch {
	case req.Action.Name == "":
		return badRequest("action.name is required")
	case req.Resource == nil:
		return badRequest("resource is required")
	case req.Resource.Type == "":
		return badRequest("resource.type is required")
	case req.Resource.ID == "":
		return badRequest("resource.id is required")
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
	body, err := readJSON(w, r, s.cfg.Server.MaxBodyBytes)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	mode, err := s.explainMode(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if mode != "" {
		s.writeExplainedNative(w, r, p, body, mode)
		return
	}
	id, o, err := s.decideNative(r.Context(), r.URL.Path, p, body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeBody(w, http.StatusOK, nativeAnswer(id, &o))
}

// nativeTailPrefix is how the native answer starts when its decision id is empty.
const nativeTailPrefix = `{"decision_id":"",`

// nativeTail encodes the native answer for d from its second member on: the part that is the
// same for every request the decision answers.
func nativeTail(d engine.Decision) []byte {
	b, err := json.Marshal(nativeResponse("", d))
	if err != nil || !bytes.HasPrefix(b, []byte(nativeTailPrefix)) {
		return nil // nativeAnswer then encodes per request
	}
	return b[len(nativeTailPrefix):]
}

// nativeAnswer is the JSON of the native answer for decision id: the cached tail behind the
// id when there is one, else the whole answer encoded now.
func nativeAnswer(id string, o *outcome) []byte {
	if o.native == nil {
		b, _ := json.Marshal(nativeResponse(id, o.decision))
		return b
	}
	b := make([]byte, 0, len(`{"decision_id":"",`)+len(id)+len(o.native))
	b = append(b, `{"decision_id":"`...)
	b = append(b, id...)
	b = append(b, `",`...)
	return append(b, o.native...)
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
	return s.verify(r.Context(), r.Header)
}

// verify verifies the bearer token of h: the service step's token check, for every API and
// for forward auth over either transport (Principal).
func (s *Server) verify(ctx context.Context, h http.Header) (*token.Principal, error) {
	stage.Enter(stage.Token)
	raw, err := token.BearerToken(h, s.cfg.Tokens.MaxTokenBytes)
	if err != nil {
		return nil, err
	}
	p, err := s.deps.Tokens.Verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	// Rate limits by client or subject apply here, where the key is first known and trusted.
	if err := s.limitPrincipal(p); err != nil {
		return nil, err
	}
	return p, nil
}

// decideNative decides one native request body (of /v1/authorize, or an item of a batch) for
// principal p: decoded, validated and built into an input only when no decision can be
// reused (decideRequest).
func (s *Server) decideNative(ctx context.Context, path string, p *token.Principal, body []byte) (string, outcome, error) {
	now := s.decisionTime()
	return s.decideRequest(ctx, path, keyNative, p, body, now, func() (*engine.Input, error) {
		in, err := DecodeRequest(body)
		if err != nil {
			return nil, err
		}
		ApplyPrincipal(in, p)
		stampTime(in, now)
		return in, nil
	})
}

// DecodeRequest decodes and validates a native request body as /v1/authorize takes it
// ("action": "read" shorthand included) into a policy input without a subject: the server
// sets it from the verified token, verdict eval from --token or the document's subject. Its
// error says what is wrong with the body without quoting it.
func DecodeRequest(body []byte) (*engine.Input, error) {
	var req authorizeRequest
	if err := decodeBytes(body, authorizeShape, &req); err != nil {
		return nil, err
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	stage.Enter(stage.Input)
	return &engine.Input{Action: engine.Action(req.Action), Resource: *req.Resource, Context: req.Context}, nil
}

// stampTime sets context.time to the server's clock on every API: risk rules judge off-hours
// access and MFA freshness by it, so no caller chooses it.
func (s *Server) stampTime(in *engine.Input) { stampTime(in, s.decisionTime()) }

// stampTime sets context.time, and the instant time.now_ns() gives the policy, to now. The
// caller's context is copied first; batch items share their default context.
func stampTime(in *engine.Input, now time.Time) {
	ctx := make(map[string]any, len(in.Context)+1)
	maps.Copy(ctx, in.Context)
	ctx["time"] = now.Format(time.RFC3339)
	in.Context = ctx
	in.Now = now
}

// ApplyPrincipal sets the input's subject and token from a verified principal, replacing
// whatever the caller said about the subject. Their policy values are built once per
// principal, so every request presenting a cached token reuses them.
func ApplyPrincipal(in *engine.Input, p *token.Principal) {
	ep, ok := p.Derived(func() any {
		ep, err := engine.NewPrincipal(engine.Subject{Type: "user", ID: p.Subject, Properties: p.Properties},
			&engine.Token{Kind: p.Kind, Issuer: p.Issuer, Claims: p.Claims})
		if err != nil {
			// Not convertible: the evaluation converts again and refuses the input itself.
			return nil
		}
		return ep
	}).(*engine.Principal)
	if !ok {
		in.Subject = engine.Subject{Type: "user", ID: p.Subject, Properties: p.Properties}
		in.Token = &engine.Token{Kind: p.Kind, Issuer: p.Issuer, Claims: p.Claims}
		return
	}
	in.SetPrincipal(ep)
}

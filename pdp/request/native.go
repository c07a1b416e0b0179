package request

import (
	"bytes"
	"encoding/json"

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
	// NativeBatchShape is the shape of a native batch body, {evaluations: [...], options}.
	NativeBatchShape = strictjson.Shape{"evaluations": authorizeShape, "options": batchOptionShape}
)

// actionField decodes an action given as an object or as its bare name.
type actionField engine.Action

func (a *actionField) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte(`"`)) {
		return json.Unmarshal(b, &a.Name)
	}
	var obj engine.Action
	if err := json.Unmarshal(b, &obj); err != nil {
		return Invalid("action must be a JSON object with a string name, or a string")
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
		return Invalid("action.name is required")
	case req.Resource == nil:
		return Invalid("resource is required")
	case req.Resource.Type == "":
		return Invalid("resource.type is required")
	case req.Resource.ID == "":
		return Invalid("resource.id is required")
	}
	return nil
}

// DecodeRequest decodes and validates a native request body as /v1/authorize takes it
// ("action": "read" shorthand included) into a policy input without a subject: the server
// sets it from the verified token, verdict eval from --token or the document's subject. Its
// error says what is wrong with the body without quoting it.
func DecodeRequest(body []byte) (*engine.Input, error) {
	var req authorizeRequest
	if err := Decode(body, authorizeShape, &req); err != nil {
		return nil, err
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	stage.Enter(stage.Input)
	return &engine.Input{Action: engine.Action(req.Action), Resource: *req.Resource, Context: req.Context}, nil
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

package request

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/strictjson"
)

// AuthZEN is the JSON shape shared by every AuthZEN request body (DecodeAuthZEN). Members stay
// raw so each is checked for its type with a precise message; unknown members are ignored.
type AuthZEN struct {
	Subject     json.RawMessage `json:"subject"`
	Action      json.RawMessage `json:"action"`
	Resource    json.RawMessage `json:"resource"`
	Context     json.RawMessage `json:"context"`
	Evaluations json.RawMessage `json:"evaluations"`
	Options     json.RawMessage `json:"options"`
	Page        json.RawMessage `json:"page"`
}

// The shapes of the AuthZEN bodies for strictjson (entityShape and actionShape are the native
// ones): one tuple, and a request, whose evaluations items are tuples. Read-only.
var (
	azTupleShape = strictjson.Shape{"subject": entityShape, "action": actionShape, "resource": entityShape, "context": nil}
	azShape      = strictjson.Shape{
		"subject": entityShape, "action": actionShape, "resource": entityShape, "context": nil,
		"evaluations": azTupleShape, "options": batchOptionShape,
		"page": {"token": nil, "next_token": nil, "limit": nil},
	}
)

// azEntity is an AuthZEN subject or resource as sent. Nil pointers are members the request
// left out, which matters when an evaluation item is merged over the request's defaults.
type azEntity struct {
	Type       *string
	ID         *string
	Properties map[string]any
}

// azAction is an AuthZEN action as sent.
type azAction struct {
	Name       *string
	Properties map[string]any
}

// Tuple is one AuthZEN evaluation as sent; any member may be missing until defaults are
// merged (Over).
type Tuple struct {
	Subject  *azEntity
	Action   *azAction
	Resource *azEntity
	// Context is nil when the request has none.
	Context map[string]any
}

// Tuple checks and returns the subject, action, resource and context members.
func (w *AuthZEN) Tuple() (Tuple, error) {
	var t Tuple
	var err error
	if t.Subject, err = parseEntity("subject", w.Subject); err != nil {
		return t, err
	}
	if t.Resource, err = parseEntity("resource", w.Resource); err != nil {
		return t, err
	}
	if t.Action, err = parseAction(w.Action); err != nil {
		return t, err
	}
	t.Context, err = parseObject("context", w.Context)
	return t, err
}

// Items returns the evaluations array; absent and empty are both an empty slice.
func (w *AuthZEN) Items() ([]json.RawMessage, error) {
	if IsAbsent(w.Evaluations) {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(w.Evaluations, &items); err != nil {
		return nil, Invalid("evaluations must be a JSON array")
	}
	return items, nil
}

// ParseItem reads one evaluations item; an item that is not an object is that item's error.
func ParseItem(raw json.RawMessage) (Tuple, error) {
	obj, err := parseObject("evaluation", raw)
	if err != nil || obj == nil {
		return Tuple{}, Invalid("each evaluation must be a JSON object")
	}
	var w AuthZEN
	if err := json.Unmarshal(raw, &w); err != nil {
		return Tuple{}, Invalid(jsonProblem(err))
	}
	return w.Tuple()
}

// Over merges t over defaults. An item's member replaces the default member as a whole (so
// properties are never mixed between two entities), except that a required identifier the
// item leaves out (type, id, name) is taken from the default. Whole-object and per-field
// readings of the specification then agree on every member the item sends.
func (t Tuple) Over(def Tuple) Tuple {
	out := t
	out.Subject = mergeEntity(t.Subject, def.Subject)
	out.Resource = mergeEntity(t.Resource, def.Resource)
	if t.Action == nil {
		out.Action = def.Action
	} else if t.Action.Name == nil && def.Action != nil {
		a := *t.Action
		a.Name = def.Action.Name
		out.Action = &a
	}
	if t.Context == nil {
		out.Context = def.Context
	}
	return out
}

func mergeEntity(item, def *azEntity) *azEntity {
	if item == nil || def == nil {
		if item == nil {
			return def
		}
		return item
	}
	e := *item
	if e.Type == nil {
		e.Type = def.Type
	}
	if e.ID == nil {
		e.ID = def.ID
	}
	return &e
}

// azNeeds says which members a request must carry: an evaluation needs all of them; each
// search leaves out the identifier it searches for.
type azNeeds struct {
	subjectID, action, resourceID bool
}

var (
	needAll      = azNeeds{subjectID: true, action: true, resourceID: true}
	needSubjects = azNeeds{action: true, resourceID: true}
	needResource = azNeeds{subjectID: true, action: true}
	needActions  = azNeeds{subjectID: true, resourceID: true}
)

// input checks t against needs and builds the policy input. The subject comes from the
// request: under AuthZEN the PEP asserts it, so the input carries no token.
func (t Tuple) input(needs azNeeds) (*engine.Input, error) {
	var in engine.Input
	var err error
	if in.Subject.Type, in.Subject.ID, err = requireEntity("subject", t.Subject, needs.subjectID); err != nil {
		return nil, err
	}
	if in.Resource.Type, in.Resource.ID, err = requireEntity("resource", t.Resource, needs.resourceID); err != nil {
		return nil, err
	}
	if needs.action {
		if t.Action == nil {
			return nil, Invalid("action is required")
		}
		if in.Action.Name, err = required("action.name", t.Action.Name); err != nil {
			return nil, err
		}
		in.Action.Properties = t.Action.Properties
	}
	in.Subject.Properties = t.Subject.Properties
	in.Resource.Properties = t.Resource.Properties
	in.Context = t.Context
	return &in, nil
}

// EvaluationInput checks a complete AuthZEN tuple and builds its policy input, with what the
// entity directory dir knows of the subject and the resource merged in.
func EvaluationInput(dir *Directory, t Tuple) (*engine.Input, error) {
	in, err := t.input(needAll)
	if err != nil {
		return nil, err
	}
	dir.Enrich(in)
	return in, nil
}

// DecodeAuthZEN decodes an AuthZEN request body strictly (Decode); its members are checked
// as they are read (Tuple, Items).
func DecodeAuthZEN(body []byte) (*AuthZEN, error) {
	var wire AuthZEN
	if err := Decode(body, azShape, &wire); err != nil {
		return nil, err
	}
	return &wire, nil
}

// DecodeEvaluation decodes and validates an AuthZEN access evaluation body as
// /access/v1/evaluation takes it into the policy input the server would evaluate against snap,
// the entity directory of snap's bundle merged in, without the server's context.time: verdict
// eval reads it this way. Its error says what is wrong with the body without quoting it.
func DecodeEvaluation(ctx context.Context, snap *engine.Snapshot, body []byte) (*engine.Input, error) {
	wire, err := DecodeAuthZEN(body)
	if err != nil {
		return nil, err
	}
	t, err := wire.Tuple()
	if err != nil {
		return nil, err
	}
	dir, err := ReadDirectory(ctx, snap)
	if err != nil {
		return nil, err
	}
	return EvaluationInput(dir, t)
}

func requireEntity(name string, e *azEntity, needID bool) (typ, id string, err error) {
	if e == nil {
		return "", "", Invalid(name + " is required")
	}
	if typ, err = required(name+".type", e.Type); err != nil {
		return "", "", err
	}
	if !needID {
		return typ, "", nil
	}
	id, err = required(name+".id", e.ID)
	return typ, id, err
}

func required(name string, v *string) (string, error) {
	if v == nil || *v == "" {
		return "", Invalid(name + " is required")
	}
	return *v, nil
}

func parseEntity(name string, raw json.RawMessage) (*azEntity, error) {
	obj, err := parseObject(name, raw)
	if obj == nil || err != nil {
		return nil, err
	}
	var e azEntity
	if e.Type, err = optString(obj, name, "type"); err != nil {
		return nil, err
	}
	if e.ID, err = optString(obj, name, "id"); err != nil {
		return nil, err
	}
	e.Properties, err = optObject(obj, name, "properties")
	return &e, err
}

func parseAction(raw json.RawMessage) (*azAction, error) {
	obj, err := parseObject("action", raw)
	if obj == nil || err != nil {
		return nil, err
	}
	var a azAction
	if a.Name, err = optString(obj, "action", "name"); err != nil {
		return nil, err
	}
	a.Properties, err = optObject(obj, "action", "properties")
	return &a, err
}

// parseObject decodes a member that must be a JSON object; absent or null is nil.
func parseObject(name string, raw json.RawMessage) (map[string]any, error) {
	if IsAbsent(raw) {
		return nil, nil
	}
	var v any
	if err := decodeRaw(raw, &v); err != nil {
		return nil, Invalid(jsonProblem(err))
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, Invalid(name + " must be a JSON object")
	}
	return obj, nil
}

func optString(obj map[string]any, parent, key string) (*string, error) {
	v, ok := obj[key]
	if !ok || v == nil {
		return nil, nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, Invalid(fmt.Sprintf("%s.%s must be a string", parent, key))
	}
	return &s, nil
}

func optObject(obj map[string]any, parent, key string) (map[string]any, error) {
	v, ok := obj[key]
	if !ok || v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, Invalid(fmt.Sprintf("%s.%s must be a JSON object", parent, key))
	}
	return m, nil
}
